import { once } from "node:events";
import { posix } from "node:path";
import tar, { type Header } from "tar-stream";
import { checkAudioBytes, expectedAudioFor } from "../../audio/sniff.ts";
import { UpstreamError } from "../../speech/errors.ts";
import type { AsyncResult, AsyncResultPart, SubtitleSegment } from "../../speech/types.ts";
import { ExtraFileSchema, SubtitleListSchema } from "./schemas.ts";

/**
 * Unpacks the tar MiniMax returns for a finished async task: `content-<id>.<fmt>` with its
 * `.titles` (subtitle JSON) and `.extra` (JSON object); zip inputs add a folder per input file and
 * `title-<id>` / `extra-<id>` trios. The archive comes from the network, so every limit is checked
 * from the header before a body byte is read, and nothing outside them is ever buffered: given the
 * download as a stream, it is read as it arrives and refused as soon as a limit is crossed. Every
 * audio member must carry its format's magic bytes (see audio/sniff.ts): a result is never an HTML
 * page or a zip with an audio extension.
 */

export interface ArchiveLimits {
  /** Largest single entry. Default 200 MiB. */
  maxEntryBytes?: number;
  /** Sum of all entry sizes. Default 500 MiB. */
  maxTotalBytes?: number;
  /** Entries of any kind, directories included. Default 1000. */
  maxEntries?: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_ARCHIVE_LIMITS: Required<ArchiveLimits> = {
  maxEntryBytes: 200 * MiB,
  maxTotalBytes: 500 * MiB,
  maxEntries: 1000,
};

/** Audio extensions MiniMax may use (the extension follows the requested format). */
const AUDIO_EXTENSIONS = new Set(["mp3", "wav", "flac", "pcm", "opus", "ogg", "pcmu_raw", "pcmu_wav"]);

interface Group {
  name?: string;
  format?: string;
  audio?: Buffer;
  subtitles?: SubtitleSegment[];
  extra?: Record<string, unknown>;
}

type Role = "audio" | "titles" | "extra";

const BLOCK = 512;
const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/**
 * The archive itself is unacceptable (hostile, corrupt, too large, not audio). Fetching it again from
 * elsewhere would not help, unlike a failed download.
 */
export class ArchiveRejectedError extends UpstreamError {
  constructor(message: string, cause?: unknown) {
    super(`MiniMax result archive rejected: ${message}`, { provider: "minimax", cause });
  }
}

function fail(message: string, cause?: unknown): ArchiveRejectedError {
  return new ArchiveRejectedError(message, cause);
}

/** Refuses names that could escape an extraction directory, even though nothing is written to disk. */
function checkPath(name: string): string {
  if (name === "" || name.includes("\0")) throw fail("an entry has an empty or NUL-containing name");
  const segments = name.split(/[\\/]+/);
  if (name.startsWith("/") || name.startsWith("\\") || /^[A-Za-z]:/.test(name)) {
    throw fail(`absolute path ${JSON.stringify(name)}`);
  }
  if (segments.includes("..")) throw fail(`path traversal in ${JSON.stringify(name)}`);
  return segments.filter((s) => s !== "" && s !== ".").join("/");
}

function roleOf(ext: string): Role | undefined {
  if (ext === "titles") return "titles";
  if (ext === "extra") return "extra";
  return AUDIO_EXTENSIONS.has(ext) ? "audio" : undefined;
}

function parseJson(entry: string, body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (cause) {
    throw fail(`${entry} is not valid JSON`, cause);
  }
}

/** What `byteOffset` tar-stream sets on each header: where the entry's body starts in the input. */
type HeaderWithOffset = Header & { byteOffset?: number };

export async function readResultArchive(
  input: Buffer | AsyncIterable<Uint8Array>,
  limits: ArchiveLimits = {},
): Promise<AsyncResult> {
  const { maxEntryBytes, maxTotalBytes, maxEntries } = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
  // Headers, padding and the end marker: a valid archive within the limits is never larger than this,
  // so it also bounds hostile padding or endless zero blocks.
  const maxInputBytes = maxTotalBytes + (maxEntries + 2) * 2 * BLOCK + MiB;

  const groups = new Map<string, Group>();
  let entries = 0;
  let declaredTotal = 0;
  let endOfLastEntry = 0;
  let inputBytes = 0;

  const extract = tar.extract();
  let failure: unknown;
  const abort = (err: unknown) => {
    failure ??= err;
    extract.destroy(err instanceof Error ? err : new Error(String(err)));
  };

  const admit = (header: HeaderWithOffset): { key: string; role: Role; base: string } | undefined => {
    entries++;
    if (entries > maxEntries) throw fail(`more than ${maxEntries} entries`);
    const path = checkPath(header.name);
    const size = header.size ?? 0;
    if (header.type === "directory") return undefined;
    if (header.type !== "file" && header.type !== "contiguous-file") {
      throw fail(`${JSON.stringify(header.name)} is a ${header.type ?? "unknown entry type"}, not a file`);
    }
    if (size > maxEntryBytes) throw fail(`${path} is ${size} bytes, over the ${maxEntryBytes}-byte limit`);
    declaredTotal += size;
    if (declaredTotal > maxTotalBytes) throw fail(`contents exceed ${maxTotalBytes} bytes`);
    if (header.byteOffset !== undefined) endOfLastEntry = header.byteOffset + padded(size);

    const base = posix.basename(path);
    const dot = base.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const role = roleOf(base.slice(dot + 1).toLowerCase());
    if (!role) return undefined;
    // A trio shares its folder; keying by folder too keeps same-named parts of different folders apart.
    return { key: `${posix.dirname(path)}/${base.slice(0, dot)}`, role, base };
  };

  const store = (key: string, role: Role, base: string, body: Buffer) => {
    let group = groups.get(key);
    if (!group) {
      group = {};
      groups.set(key, group);
    }
    if (group[role === "titles" ? "subtitles" : role] !== undefined) throw fail(`duplicate entry ${base}`);
    if (role === "audio") {
      group.audio = body;
      group.name = base;
      group.format = base.slice(base.lastIndexOf(".") + 1).toLowerCase();
    } else if (role === "titles") {
      const parsed = SubtitleListSchema.safeParse(parseJson(base, body));
      if (!parsed.success) throw fail(`${base} is not a subtitle list: ${parsed.error.issues[0]?.message}`);
      group.subtitles = parsed.data;
    } else {
      const parsed = ExtraFileSchema.safeParse(parseJson(base, body));
      if (!parsed.success) throw fail(`${base} is not a JSON object`);
      group.extra = parsed.data;
    }
  };

  extract.on("entry", (header, stream, next) => {
    // The extractor passes its own failure to the entry in flight; it is reported once, via `finished`.
    stream.on("error", () => {});
    let wanted: ReturnType<typeof admit>;
    try {
      wanted = admit(header as HeaderWithOffset);
    } catch (err) {
      abort(err);
      return;
    }
    if (!wanted) {
      stream.on("end", () => next());
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (chunk) => chunks.push(chunk as Buffer));
    stream.on("end", () => {
      try {
        store(wanted.key, wanted.role, wanted.base, Buffer.concat(chunks));
        next();
      } catch (err) {
        abort(err);
      }
    });
  });

  const finished = new Promise<void>((resolve, reject) => {
    extract.on("finish", () => resolve());
    extract.on("error", (err: unknown) => reject(failure ?? fail("truncated or corrupt tar", err)));
    extract.on("close", () => reject(failure ?? fail("archive reader closed early")));
  });
  // Without a listener the rejection of an early failure would surface as unhandled.
  finished.catch(() => {});

  const write = async (chunk: Uint8Array) => {
    inputBytes += chunk.byteLength;
    if (inputBytes > maxInputBytes) throw fail(`archive is larger than ${maxInputBytes} bytes`);
    if (!extract.write(chunk)) await Promise.race([once(extract, "drain"), finished]);
  };

  try {
    if (Buffer.isBuffer(input)) {
      await write(input);
    } else {
      const source = input[Symbol.asyncIterator]();
      let done = false;
      try {
        while (!done) {
          // Racing `finished` stops waiting on a slow source as soon as a header is refused.
          const next = await Promise.race([source.next(), finished]);
          done = !next || next.done === true;
          if (next && !next.done) await write(next.value);
        }
      } finally {
        // Not awaited: a source stuck in next() would only settle its return() after that.
        if (!done) Promise.resolve(source.return?.()).catch(() => {});
      }
    }
    extract.end(undefined);
    await finished;
  } catch (err) {
    throw failure ?? err;
  } finally {
    if (!extract.destroyed) extract.destroy();
  }

  // tar-stream accepts an input that stops exactly between two entries; a complete tar ends with
  // zero blocks after its last entry.
  if (inputBytes < endOfLastEntry + BLOCK) {
    throw fail("archive is truncated (no end-of-archive marker)");
  }

  const parts: AsyncResultPart[] = [];
  for (const group of groups.values()) {
    if (!group.audio || !group.name || !group.format) continue;
    // After the structural checks (which run while streaming), so a hostile archive is refused for
    // what it is first.
    const expected = expectedAudioFor(group.format);
    const sniffed = expected ? checkAudioBytes(group.audio, expected) : undefined;
    if (sniffed && !sniffed.ok) {
      throw fail(`${group.name} is not ${group.format} audio (it looks like ${sniffed.kind})`);
    }
    parts.push({
      name: group.name,
      audio: group.audio,
      format: group.format,
      subtitles: group.subtitles,
      extra: group.extra,
    });
  }
  if (parts.length === 0) throw fail("it holds no audio file");
  return { parts };
}
