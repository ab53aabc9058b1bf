import { audioDurationMs } from "../audio/duration.ts";
import { splitToFit } from "../speak/fit-attachments.ts";
import { AudioFormatSchema } from "../speech/models.ts";
import type { SubtitleSegment } from "../speech/types.ts";
import { userMention } from "../text/markup.ts";
import { toSrt } from "../text/subtitles.ts";
import type { JobRecord, ResultFile } from "./types.ts";

/** Turning a finished narration into the attachments and the credit line that get posted. */

/** Discord's default upload limit for a server without boosts. */
export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/** One audio file the provider produced, with what it said about it. */
export interface AudioPiece {
  audio: Buffer;
  format: string;
  subtitles: SubtitleSegment[] | undefined;
  /** As reported by the provider; measured from the audio when absent. */
  durationMs: number | undefined;
  sampleRate?: number;
  channels?: 1 | 2;
}

export interface ProducedResult {
  files: ResultFile[];
  durationMs: number | undefined;
  usageCharacters: number | undefined;
}

/** ASCII, lowercase, dash-separated; "narration" when nothing of the title survives. */
export function slugify(title: string | undefined, maxLength = 48): string {
  const slug = (title ?? "")
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, maxLength)
    .replace(/^-+|-+$/g, "");
  return slug || "narration";
}

function measure(piece: AudioPiece): number | undefined {
  if (piece.durationMs !== undefined) return piece.durationMs;
  const format = AudioFormatSchema.safeParse(piece.format);
  if (format.success) {
    try {
      const shape = { sampleRate: piece.sampleRate ?? 32000, channels: piece.channels ?? 1 };
      const measured = audioDurationMs(piece.audio, format.data, shape);
      if (measured !== undefined) return measured;
    } catch {
      // Unreadable audio still gets posted; only the credit line loses its duration.
    }
  }
  return piece.subtitles?.at(-1)?.time_end;
}

/**
 * Each piece's audio split to fit the upload limit (mp3 at frame boundaries, never re-encoded), then
 * its subtitles as SubRip. Several pieces (a zip input) are numbered in order.
 */
export function buildResultFiles(
  job: Pick<JobRecord, "title">,
  pieces: readonly AudioPiece[],
  uploadLimit: number,
): { files: ResultFile[]; durationMs: number | undefined } {
  const slug = slugify(job.title);
  const files: ResultFile[] = [];
  let total: number | undefined = 0;
  pieces.forEach((piece, i) => {
    const base = pieces.length > 1 ? `${slug}-${i + 1}` : slug;
    files.push(...splitToFit(piece.audio, piece.format, uploadLimit, base));
    if (piece.subtitles && piece.subtitles.length > 0) {
      files.push({
        name: `${base}.srt`,
        data: Buffer.from(toSrt(piece.subtitles), "utf8"),
        contentType: "application/x-subrip",
      });
    }
    const ms = measure(piece);
    total = total === undefined || ms === undefined ? undefined : total + ms;
  });
  return { files, durationMs: total };
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Titles are user text: markdown is escaped and mentions defused so the credit line cannot ping. */
function safeTitle(title: string): string {
  return title
    .slice(0, 200)
    .replace(/[\\*_~`|>[\]()#-]/g, "\\$&")
    .replace(/@/g, "@\u200b")
    .replace(/\s+/g, " ");
}

export function creditText(
  job: Pick<JobRecord, "title" | "requesterId" | "chars" | "usageCharacters">,
  durationMs: number | undefined,
): string {
  const title = job.title ? `**${safeTitle(job.title)}**` : "Narration";
  const facts = [
    durationMs === undefined ? undefined : formatDuration(durationMs),
    `${(job.usageCharacters ?? job.chars).toLocaleString("en-US")} characters`,
  ].filter((f) => f !== undefined);
  return `🎧 ${title} — narrated for ${userMention(job.requesterId)} · ${facts.join(" · ")}`;
}
