import type { Attachment } from "discord.js";
import { MAX_INPUT_FILE_BYTES } from "../text/narration-input.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { downloadBounded } from "./download.ts";

/**
 * A text file attached to a command (`.txt` or `.zip` for narration), refused by its declared size
 * before anything is downloaded, then downloaded with the same bound.
 */
export async function readInputAttachment(file: Attachment): Promise<{ bytes: Buffer; name: string }> {
  if (file.size > MAX_INPUT_FILE_BYTES) {
    throw new UserFacingError(
      `The file is ${(file.size / 1024 / 1024).toFixed(1)} MiB; files up to ${MAX_INPUT_FILE_BYTES / 1024 / 1024} MiB are accepted.`,
    );
  }
  const bytes = await downloadBounded(file.url, { maxBytes: MAX_INPUT_FILE_BYTES });
  return { bytes, name: file.name };
}
