import { unzipSync } from "fflate";
import { z } from "zod";
import type { RecordedRequest } from "../common/http.ts";
import { type BaseRespError, invalidParams } from "./codes.ts";

/**
 * `/v1/files/upload` input handling: what MiniMax accepts as `text_file_id` material.
 * A `.txt` is one text; a `.zip` holds `1.json`, `2.json`… (or `1.txt`…) — anything else in it is the
 * infamous `check file in zip error`.
 */

/** One input of an async task: the texts to speak, and the folder its results go to for zip input. */
export interface AsyncInput {
  folder: string | undefined;
  fields: Partial<Record<"title" | "content" | "extra", string>>;
}

export interface StoredFile {
  file_id: number;
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  content: Buffer;
  /** Parsed texts for `t2a_async_input` files. */
  inputs?: AsyncInput[];
}

const AUDIO_PURPOSES = new Set(["voice_clone", "prompt_audio"]);
const ZIP_ERROR: BaseRespError = { code: 2013, msg: "check file in zip error" };

const JsonMember = z.object({
  title: z.string().optional(),
  content: z.string().optional(),
  extra: z.string().optional(),
});

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function parseZip(content: Buffer): AsyncInput[] | BaseRespError {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(new Uint8Array(content));
  } catch {
    return ZIP_ERROR;
  }
  const names = Object.keys(members);
  const ext = names[0]?.split(".").pop();
  if (names.length === 0 || names.some((n) => !/^\d+\.(json|txt)$/.test(n) || !n.endsWith(`.${ext}`))) {
    return ZIP_ERROR;
  }
  const inputs: AsyncInput[] = [];
  for (const name of names.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))) {
    const text = utf8(members[name]!);
    if (text === undefined) return ZIP_ERROR;
    const folder = name.replace(/\.\w+$/, "");
    if (ext === "txt") {
      if (text.trim() === "") return ZIP_ERROR;
      inputs.push({ folder, fields: { content: text } });
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return ZIP_ERROR;
    }
    const parsed = JsonMember.safeParse(json);
    if (!parsed.success) return ZIP_ERROR;
    const fields = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v && v.trim() !== ""));
    if (Object.keys(fields).length === 0) return ZIP_ERROR;
    inputs.push({ folder, fields });
  }
  return inputs;
}

export function parseUpload(
  record: RecordedRequest,
  fileId: number,
  nowSeconds: number,
): { ok: true; file: StoredFile } | { ok: false; error: BaseRespError } {
  const form = record.multipart;
  if (!form) return { ok: false, error: invalidParams("content type must be multipart/form-data") };
  const purpose = form.fields.purpose;
  const upload = form.files.find((f) => f.name === "file");
  if (!purpose) return { ok: false, error: invalidParams("purpose: required") };
  if (!upload) return { ok: false, error: invalidParams("file: required") };
  if (upload.size === 0) return { ok: false, error: invalidParams("file: empty file") };
  const ext = upload.filename.toLowerCase().split(".").pop() ?? "";
  const file: StoredFile = {
    file_id: fileId,
    bytes: upload.size,
    created_at: nowSeconds,
    filename: upload.filename,
    purpose,
    content: upload.content,
  };
  if (AUDIO_PURPOSES.has(purpose)) {
    if (!["mp3", "m4a", "wav"].includes(ext))
      return { ok: false, error: invalidParams(`file: ${ext} not supported for ${purpose}`) };
    return { ok: true, file };
  }
  if (purpose !== "t2a_async_input")
    return { ok: false, error: invalidParams(`purpose: unsupported purpose ${purpose}`) };
  if (ext === "txt") {
    const text = utf8(upload.content);
    if (text === undefined || text.trim() === "")
      return { ok: false, error: invalidParams("file: not utf-8 text") };
    file.inputs = [{ folder: undefined, fields: { content: text } }];
    return { ok: true, file };
  }
  if (ext === "zip") {
    const inputs = parseZip(upload.content);
    if (!Array.isArray(inputs)) return { ok: false, error: inputs };
    file.inputs = inputs;
    return { ok: true, file };
  }
  return {
    ok: false,
    error: invalidParams(`file: ${ext} not supported for t2a_async_input, use txt or zip`),
  };
}

/** What `/v1/files/retrieve` and `/v1/files/upload` show of a file. */
export function fileObject(file: StoredFile): Record<string, unknown> {
  return {
    file_id: file.file_id,
    bytes: file.bytes,
    created_at: file.created_at,
    filename: file.filename,
    purpose: file.purpose,
  };
}

export function inputCharacters(inputs: AsyncInput[]): number {
  return inputs.reduce((sum, i) => sum + Object.values(i.fields).reduce((s, t) => s + [...t].length, 0), 0);
}
