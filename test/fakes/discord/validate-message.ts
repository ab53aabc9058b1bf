import { type FormIssue, issue } from "./errors.ts";
import { validateAllowedMentions } from "./mentions.ts";
import { validateMessageComponents } from "./validate-components.ts";

/**
 * Field-level limits of a message body (create, edit, interaction response, follow-up):
 * content ≤ 2000, ≤ 10 embeds with the documented per-field and 6000-character total limits,
 * components, allowed_mentions, attachment metadata, nonce ≤ 25, ≤ 3 stickers.
 */

type Path = ReadonlyArray<string | number>;
type Obj = Record<string, unknown>;

export const MESSAGE_FLAGS = {
  Crossposted: 1 << 0,
  SuppressEmbeds: 1 << 2,
  Urgent: 1 << 4,
  Ephemeral: 1 << 6,
  Loading: 1 << 7,
  SuppressNotifications: 1 << 12,
  IsVoiceMessage: 1 << 13,
  IsComponentsV2: 1 << 15,
} as const;

export const CONTENT_MAX = 2000;
export const EMBEDS_MAX = 10;
export const EMBED_TOTAL_MAX = 6000;
export const FILES_MAX = 10;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const len = (s: unknown): number => (typeof s === "string" ? [...s].length : 0);

function checkEmbed(out: FormIssue[], path: Path, e: unknown): number {
  if (!isObj(e)) {
    out.push(issue.type(path, "object", e));
    return 0;
  }
  const str = (field: string, max: number, value: unknown = e[field], p: Path = [...path, field]) => {
    if (value === undefined || value === null) return;
    if (typeof value !== "string") out.push(issue.type(p, "string", value));
    else if (len(value) > max) out.push(issue.maxLength(p, max));
  };
  str("title", 256);
  str("description", 4096);
  str("url", 2048);
  if (e.color !== undefined && e.color !== null) {
    if (typeof e.color !== "number" || !Number.isInteger(e.color))
      out.push(issue.type([...path, "color"], "int", e.color));
    else if (e.color < 0 || e.color > 0xffffff) out.push(issue.range([...path, "color"], 0, 0xffffff));
  }
  let total = len(e.title) + len(e.description);
  if (e.footer !== undefined) {
    if (!isObj(e.footer)) out.push(issue.type([...path, "footer"], "object", e.footer));
    else {
      if (typeof e.footer.text !== "string" || e.footer.text.length === 0)
        out.push(issue.required([...path, "footer", "text"]));
      else str("text", 2048, e.footer.text, [...path, "footer", "text"]);
      total += len(e.footer.text);
    }
  }
  if (e.author !== undefined) {
    if (!isObj(e.author)) out.push(issue.type([...path, "author"], "object", e.author));
    else {
      if (typeof e.author.name !== "string" || e.author.name.length === 0)
        out.push(issue.required([...path, "author", "name"]));
      else str("name", 256, e.author.name, [...path, "author", "name"]);
      total += len(e.author.name);
    }
  }
  if (e.fields !== undefined) {
    if (!Array.isArray(e.fields)) out.push(issue.type([...path, "fields"], "array", e.fields));
    else {
      if (e.fields.length > 25) out.push(issue.maxLength([...path, "fields"], 25));
      e.fields.forEach((f, i) => {
        const p = [...path, "fields", i];
        if (!isObj(f)) {
          out.push(issue.type(p, "object", f));
          return;
        }
        if (typeof f.name !== "string" || f.name.length === 0) out.push(issue.required([...p, "name"]));
        else str("name", 256, f.name, [...p, "name"]);
        if (typeof f.value !== "string" || f.value.length === 0) out.push(issue.required([...p, "value"]));
        else str("value", 1024, f.value, [...p, "value"]);
        total += len(f.name) + len(f.value);
      });
    }
  }
  return total;
}

export function validateEmbeds(embeds: unknown, path: Path): FormIssue[] {
  const out: FormIssue[] = [];
  if (embeds === undefined || embeds === null) return out;
  if (!Array.isArray(embeds)) return [issue.type(path, "array", embeds)];
  if (embeds.length > EMBEDS_MAX) out.push(issue.maxLength(path, EMBEDS_MAX));
  let total = 0;
  embeds.forEach((e, i) => {
    total += checkEmbed(out, [...path, i], e);
  });
  if (total > EMBED_TOTAL_MAX) {
    out.push(
      issue.custom(path, "MAX_EMBED_SIZE_EXCEEDED", `Embed size exceeds maximum size of ${EMBED_TOTAL_MAX}`),
    );
  }
  return out;
}

function validateAttachmentMeta(list: unknown, path: Path): FormIssue[] {
  const out: FormIssue[] = [];
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) return [issue.type(path, "array", list)];
  list.forEach((a, i) => {
    const p = [...path, i];
    if (!isObj(a)) {
      out.push(issue.type(p, "object", a));
      return;
    }
    if (a.id === undefined || a.id === null) out.push(issue.required([...p, "id"]));
    if (a.description !== undefined && a.description !== null) {
      if (typeof a.description !== "string")
        out.push(issue.type([...p, "description"], "string", a.description));
      else if (len(a.description) > 1024) out.push(issue.maxLength([...p, "description"], 1024));
    }
    if (a.filename !== undefined && typeof a.filename !== "string")
      out.push(issue.type([...p, "filename"], "string", a.filename));
  });
  return out;
}

/** Validates the fields Discord checks on any message body; `flags` decides Components V2 rules. */
export function validateMessageFields(body: Obj, path: Path, opts: { v2: boolean }): FormIssue[] {
  const out: FormIssue[] = [];
  const content = body.content;
  if (content !== undefined && content !== null) {
    if (typeof content !== "string") out.push(issue.type([...path, "content"], "string", content));
    else if (len(content) > CONTENT_MAX) out.push(issue.maxLength([...path, "content"], CONTENT_MAX));
  }
  if (body.tts !== undefined && typeof body.tts !== "boolean")
    out.push(issue.type([...path, "tts"], "boolean", body.tts));
  if (
    body.flags !== undefined &&
    body.flags !== null &&
    (typeof body.flags !== "number" || !Number.isInteger(body.flags))
  ) {
    out.push(issue.type([...path, "flags"], "int", body.flags));
  }
  out.push(...validateEmbeds(body.embeds, [...path, "embeds"]));
  out.push(...validateMessageComponents(body.components, [...path, "components"], opts.v2));
  out.push(...validateAllowedMentions(body.allowed_mentions, [...path, "allowed_mentions"]));
  out.push(...validateAttachmentMeta(body.attachments, [...path, "attachments"]));
  if (body.nonce !== undefined && body.nonce !== null) {
    if (typeof body.nonce === "string" && len(body.nonce) > 25)
      out.push(issue.maxLength([...path, "nonce"], 25));
    else if (typeof body.nonce !== "string" && typeof body.nonce !== "number")
      out.push(issue.type([...path, "nonce"], "string", body.nonce));
  }
  if (Array.isArray(body.sticker_ids) && body.sticker_ids.length > 3)
    out.push(issue.maxLength([...path, "sticker_ids"], 3));
  if (opts.v2) {
    if (typeof content === "string" && content.length > 0)
      out.push(
        issue.custom(
          [...path, "content"],
          "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
          "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        ),
      );
    if (Array.isArray(body.embeds) && body.embeds.length > 0)
      out.push(
        issue.custom(
          [...path, "embeds"],
          "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
          "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        ),
      );
  }
  return out;
}

const AUDIO_EXTENSIONS: Record<string, string> = {
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/ogg",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  flac: "audio/flac",
  m4a: "audio/mp4",
  aac: "audio/aac",
  weba: "audio/webm",
};
const OTHER_EXTENSIONS: Record<string, string> = {
  txt: "text/plain; charset=utf-8",
  srt: "application/x-subrip",
  vtt: "text/vtt; charset=utf-8",
  json: "application/json; charset=utf-8",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  zip: "application/zip",
  pdf: "application/pdf",
  mp4: "video/mp4",
  webm: "video/webm",
  pcm: "application/octet-stream",
};

/** Discord derives an attachment's media type from the file; the extension is the fake's guide. */
export function attachmentContentType(filename: string, partType: string): string | undefined {
  const ext = filename.toLowerCase().split(".").pop() ?? "";
  const known = AUDIO_EXTENSIONS[ext] ?? OTHER_EXTENSIONS[ext];
  if (known) return known;
  if (partType && partType !== "application/octet-stream") return partType;
  return undefined;
}

export function isAudio(filename: string, contentType: string | undefined): boolean {
  return (
    (contentType ?? "").startsWith("audio/") ||
    (filename.toLowerCase().split(".").pop() ?? "") in AUDIO_EXTENSIONS
  );
}

/** Discord replaces characters it does not keep in attachment filenames. */
export function sanitizeFilename(name: string): string {
  const cleaned = name.replaceAll(/[^A-Za-z0-9._-]/g, "_");
  return cleaned.length > 0 ? cleaned : "unknown";
}

export function isValidWaveform(value: unknown): boolean {
  if (typeof value !== "string" || value.length === 0) return false;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  const bytes = Buffer.from(value, "base64");
  return bytes.length > 0 && bytes.length <= 256;
}
