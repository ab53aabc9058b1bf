/**
 * Short spoken descriptions of what a chat message holds besides text: files by kind, stickers by
 * name, and forwarded messages ("Alice sent an image", "Alice sent a sticker: Wave", "Alice forwarded
 * a message: see you at eight"). Listeners in the call cannot see the chat, so a message that is only
 * a picture would otherwise pass in silence; a description says what happened in a few words and
 * never reads a file name, which is rarely meant to be heard.
 */

export interface ChatAttachment {
  /** MIME type as Discord reports it (absent for some uploads). */
  contentType?: string | null;
  /** File name, used only to guess the kind when no type is given. */
  name: string;
  /** A native voice message (flag IS_VOICE_MESSAGE on the message). */
  voiceMessage?: boolean;
}

/** A forwarded message's snapshot: what was forwarded, without its author (Discord does not say). */
export interface ChatForward {
  content: string;
  attachments: readonly ChatAttachment[];
  stickers: readonly string[];
}

export type AttachmentKind = "image" | "video" | "audio" | "voice message" | "file";

const KIND_ORDER: readonly AttachmentKind[] = ["image", "video", "audio", "voice message", "file"];
const NOUNS: Record<AttachmentKind, [one: string, many: string]> = {
  image: ["an image", "images"],
  video: ["a video", "videos"],
  audio: ["an audio clip", "audio clips"],
  "voice message": ["a voice message", "voice messages"],
  file: ["a file", "files"],
};

const IMAGE_EXT = new Set(["png", "jpg", "jpeg", "gif", "webp", "avif", "bmp", "heic", "svg"]);
const VIDEO_EXT = new Set(["mp4", "webm", "mov", "mkv", "avi", "m4v"]);
const AUDIO_EXT = new Set(["mp3", "ogg", "oga", "opus", "wav", "flac", "m4a", "aac"]);

export function attachmentKind(a: ChatAttachment): AttachmentKind {
  if (a.voiceMessage) return "voice message";
  const type = (a.contentType ?? "").toLowerCase();
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  if (type !== "") return "file";
  const ext = /\.([a-z0-9]{1,5})$/i.exec(a.name)?.[1]?.toLowerCase() ?? "";
  if (IMAGE_EXT.has(ext)) return "image";
  if (VIDEO_EXT.has(ext)) return "video";
  if (AUDIO_EXT.has(ext)) return "audio";
  return "file";
}

/** Sticker names are 2–30 characters; anything else is cut and tidied so it reads as one phrase. */
const STICKER_NAME_MAX = 30;

/**
 * "an image", "2 images and a file", "a sticker: Wave", "an image and 2 stickers"; "" for nothing.
 * A single sticker is named (it is usually the point of the message); several are counted.
 */
export function describeFiles(
  attachments: readonly ChatAttachment[],
  stickers: readonly string[] = [],
): string {
  const counts = new Map<AttachmentKind, number>();
  for (const a of attachments) {
    const kind = attachmentKind(a);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const parts: string[] = [];
  for (const kind of KIND_ORDER) {
    const n = counts.get(kind) ?? 0;
    if (n > 0) parts.push(n === 1 ? NOUNS[kind][0] : `${n} ${NOUNS[kind][1]}`);
  }
  if (stickers.length === 1) {
    const name = tidySticker(stickers[0] ?? "");
    parts.push(name === "" ? "a sticker" : `a sticker: ${name}`);
  } else if (stickers.length > 1) {
    parts.push(`${stickers.length} stickers`);
  }
  return joinAnd(parts);
}

function tidySticker(name: string): string {
  const oneLine = name.replace(/\s+/g, " ").trim();
  return [...oneLine].slice(0, STICKER_NAME_MAX).join("");
}

function joinAnd(parts: string[]): string {
  if (parts.length <= 1) return parts[0] ?? "";
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

export interface SpokenMessageInput {
  /** The speaker's name as it is spoken ("" when the server says no names). */
  name: string;
  /** "Alice said" when the speaker is to be named before text; undefined otherwise. */
  announcement: string | undefined;
  /** The message's cleaned text ("" when none). */
  text: string;
  /** `describeFiles` of the message ("" when none or when the server does not describe files). */
  files: string;
  /** A forwarded message: its cleaned text and its files described. */
  forward?: { text: string; files: string };
}

/**
 * The sentence auto-read speaks for a message; "" when there is nothing to say.
 * - text: "Alice said: hello" (or just "hello" when Alice was named a moment ago);
 * - text and files: "Alice said: look at this, with an image";
 * - files only: "Alice sent an image" (files always name the sender: "sent an image" alone is unclear);
 * - a forward: "Alice forwarded a message: see you at eight", or "Alice forwarded an image".
 */
export function spokenMessage(input: SpokenMessageInput): string {
  const subject = input.name === "" ? "" : `${input.name} `;
  // A name is said as written; without one the sentence still starts with a capital ("Sent an image").
  const sentence = (verb: string, rest: string) =>
    subject ? `${subject}${verb} ${rest}` : capitalize(`${verb} ${rest}`);
  if (input.forward && (input.forward.text || input.forward.files)) {
    const { text, files } = input.forward;
    if (!text) return sentence("forwarded", files);
    return sentence("forwarded a message:", files ? `${text}, with ${files}` : text);
  }
  if (!input.text) return input.files ? sentence("sent", input.files) : "";
  const said = input.announcement ? `${input.announcement}: ${input.text}` : input.text;
  return input.files ? `${said}, with ${input.files}` : said;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Whether the message names its sender when spoken (files-only messages and forwards do). */
export function namesSender(input: Pick<SpokenMessageInput, "text" | "files" | "forward">): boolean {
  if (input.forward && (input.forward.text || input.forward.files)) return true;
  return !input.text && input.files !== "";
}
