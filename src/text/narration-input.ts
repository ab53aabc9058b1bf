import { zipSync } from "fflate";
import { z } from "zod";
import { MINIMAX_LIMITS } from "../speech/models.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { readZipMembers, type ZipMember } from "./input-zip.ts";
import { validatePauseMarkers } from "./pause-markers.ts";
import { decodeTextFile, formatBytes, TextFileError } from "./text-file.ts";

/** What to narrate: inline text (≤ 50,000 characters) or a file already prepared for upload. */
export const JobInputSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("text"), text: z.string().min(1) }),
  z.object({
    kind: z.literal("file"),
    /** `.txt` or `.zip` (members renamed 1.json, 2.json… as MiniMax requires). */
    fileName: z.string(),
    /** base64 of the bytes to upload; dropped once MiniMax has the file (`uploadedFileId`). */
    contentBase64: z.string().optional(),
    uploadedFileId: z.string().optional(),
  }),
]);
export type JobInput = z.infer<typeof JobInputSchema>;

/**
 * What a finished record keeps of its input once the text or file was dropped (the stores do it
 * when a job is done or cancelled, or a request ends): enough to describe it, nothing to run again.
 */
export const DroppedInputSchema = z.object({
  kind: z.literal("dropped"),
  /** Characters the input had. */
  chars: z.number().int().nonnegative(),
  /** The file's name, when it was a file. */
  fileName: z.string().optional(),
});
export type DroppedInput = z.infer<typeof DroppedInputSchema>;

/**
 * Turning what a user sent (inline text, a `.txt`, a `.zip`) into an input MiniMax's async API will
 * accept, refusing early with a reason: a bad input found by MiniMax only after the job waited in
 * its queue is a much worse experience. Pure: bytes in, bytes out.
 */

export interface PreparedInput<K extends JobInput["kind"]> {
  input: Extract<JobInput, { kind: K }>;
  /** Characters to narrate (Unicode code points, pause markers included). */
  chars: number;
}

export interface TextInputOptions {
  maxChars?: number;
}

export interface FileInputOptions {
  /** The file as sent. */
  maxBytes?: number;
  /** Over every narrated text of the file. */
  maxChars?: number;
  /** Zip: members at most. */
  maxEntries?: number;
  /** Zip: unpacked size of one member. */
  maxEntryBytes?: number;
  /** Zip: unpacked size of all members. */
  maxTotalBytes?: number;
}

export interface PreparedFileInput extends PreparedInput<"file"> {
  /** Texts narrated: 1 for a `.txt`, the members of a zip. */
  entries: number;
  /** The user's member names in narration order (the zip's members are renamed 1.json, 2.json…). */
  order: string[];
}

const MiB = 1024 * 1024;
/** Largest `.txt` or `.zip` accepted as sent (the default of `maxBytes`). */
export const MAX_INPUT_FILE_BYTES = 2 * MiB;
const JSON_FIELDS = ["title", "content", "extra"] as const;
/** A fixed timestamp keeps the rebuilt zip byte-identical for the same input. */
const ZIP_MTIME = new Date(2000, 0, 1);
/** More than this many marker problems would bury the message; the first ones show the pattern. */
const MAX_LISTED_PROBLEMS = 5;

export function prepareTextInput(text: string, opts: TextInputOptions = {}): PreparedInput<"text"> {
  const maxChars = opts.maxChars ?? MINIMAX_LIMITS.asyncTextMaxChars;
  const trimmed = text.trim();
  if (trimmed === "") throw new UserFacingError("The text is empty.");
  const chars = countChars(trimmed);
  if (chars > maxChars) throw tooManyChars("The text", chars, maxChars);
  assertPauseMarkers(trimmed, "The text");
  return { input: { kind: "text", text: trimmed }, chars };
}

export function prepareFileInput(
  bytes: Buffer,
  fileName: string,
  opts: FileInputOptions = {},
): PreparedFileInput {
  const maxBytes = opts.maxBytes ?? MAX_INPUT_FILE_BYTES;
  const maxChars = opts.maxChars ?? MINIMAX_LIMITS.asyncFileMaxChars;
  if (bytes.byteLength > maxBytes) {
    throw new UserFacingError(
      `\`${fileName}\` is ${formatBytes(bytes.byteLength)}; the limit is ${formatBytes(maxBytes)}.`,
    );
  }
  const ext = extensionOf(fileName);
  if (ext === "txt") {
    const text = decodeMember(bytes, fileName, maxBytes);
    const chars = countChars(text);
    if (chars > maxChars) throw tooManyChars(`\`${fileName}\``, chars, maxChars);
    assertPauseMarkers(text, `\`${fileName}\``);
    // decodeTextFile dropped the BOM; what is uploaded is plain UTF-8.
    const contentBase64 = Buffer.from(text, "utf8").toString("base64");
    return {
      input: { kind: "file", fileName: safeFileName(fileName, "txt"), contentBase64 },
      chars,
      entries: 1,
      order: [fileName],
    };
  }
  if (ext === "zip") return prepareZip(bytes, fileName, opts, maxChars);
  throw new UserFacingError(
    `\`${fileName}\` cannot be narrated: send a .txt file (UTF-8) or a .zip of .txt or .json files.`,
  );
}

/** One message for a failed pause-marker check, listing the first problems. */
export function describePauseProblems(where: string, problems: readonly string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `• ${p}`);
  const more = problems.length - listed.length;
  if (more > 0) listed.push(`…and ${more} more.`);
  return `${where} has pause markers MiniMax would refuse:\n${listed.join("\n")}`;
}

function prepareZip(
  bytes: Buffer,
  fileName: string,
  opts: FileInputOptions,
  maxChars: number,
): PreparedFileInput {
  const { kind, members } = readZipMembers(bytes, {
    maxEntries: opts.maxEntries ?? 50,
    maxEntryBytes: opts.maxEntryBytes ?? MiB,
    maxTotalBytes: opts.maxTotalBytes ?? 4 * MiB,
  });
  const rebuilt: Record<string, Uint8Array> = {};
  let chars = 0;
  members.forEach((member, i) => {
    const { data, chars: memberChars } = kind === "json" ? checkJsonMember(member) : checkTxtMember(member);
    chars += memberChars;
    // MiniMax only accepts plain numbers as member names (`chapter_1.json` → "check file in zip error").
    rebuilt[`${i + 1}.${kind}`] = data;
  });
  if (chars > maxChars) throw tooManyChars(`\`${fileName}\``, chars, maxChars);
  const zipped = zipSync(rebuilt, { level: 6, mtime: ZIP_MTIME });
  return {
    input: {
      kind: "file",
      fileName: safeFileName(fileName, "zip"),
      contentBase64: Buffer.from(zipped).toString("base64"),
    },
    chars,
    entries: members.length,
    order: members.map((m) => m.name),
  };
}

function checkTxtMember({ name, data }: ZipMember): { data: Uint8Array; chars: number } {
  const text = decodeMember(data, name, Number.POSITIVE_INFINITY);
  assertPauseMarkers(text, `\`${name}\``);
  return { data: Buffer.from(text, "utf8"), chars: countChars(text) };
}

function checkJsonMember({ name, data }: ZipMember): { data: Uint8Array; chars: number } {
  const text = decodeMember(data, name, Number.POSITIVE_INFINITY);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UserFacingError(`\`${name}\` is not valid JSON.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UserFacingError(`\`${name}\` must be a JSON object with "title", "content" and "extra" texts.`);
  }
  const record = parsed as Record<string, unknown>;
  const fields = { title: "", content: "", extra: "" };
  for (const field of JSON_FIELDS) {
    const value = record[field];
    if (value === undefined) continue;
    if (typeof value !== "string") throw new UserFacingError(`\`${name}\`: "${field}" must be a string.`);
    fields[field] = value;
    // Each non-empty field is narrated on its own, so each must stand as a text by itself.
    if (value.trim() !== "") assertPauseMarkers(value, `\`${name}\` ("${field}")`);
  }
  const narrated = JSON_FIELDS.filter((f) => fields[f].trim() !== "");
  if (narrated.length === 0) {
    throw new UserFacingError(`\`${name}\` has no text: fill in "title", "content" or "extra".`);
  }
  // Rewritten with only the fields MiniMax reads, all present, as UTF-8 without BOM.
  const chars = narrated.reduce((n, f) => n + countChars(fields[f]), 0);
  return { data: Buffer.from(JSON.stringify(fields), "utf8"), chars };
}

/** decodeTextFile, with the file named in its message. */
function decodeMember(data: Uint8Array, name: string, maxBytes: number): string {
  try {
    return decodeTextFile(data, { maxBytes });
  } catch (err) {
    if (err instanceof TextFileError) throw new UserFacingError(`\`${name}\`: ${err.message}`);
    throw err;
  }
}

function assertPauseMarkers(text: string, where: string): void {
  const check = validatePauseMarkers(text);
  if (!check.ok) throw new UserFacingError(describePauseProblems(where, check.problems));
}

function tooManyChars(what: string, chars: number, limit: number): UserFacingError {
  return new UserFacingError(
    `${what} has ${chars.toLocaleString("en-US")} characters; the limit is ${limit.toLocaleString("en-US")}.`,
  );
}

/** Code points, as a person counts: an emoji is one character, not two UTF-16 units. */
function countChars(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf(".");
  return dot > 0 ? fileName.slice(dot + 1).toLowerCase() : "";
}

/** The name sent along with the upload: ASCII only, since multipart filename handling varies. */
function safeFileName(fileName: string, ext: "txt" | "zip"): string {
  const stem = fileName
    .replace(/\.[^.]*$/, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+|[._]+$/g, "")
    .slice(0, 80);
  return `${stem || "input"}.${ext}`;
}
