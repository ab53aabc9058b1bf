/**
 * Decoding user-supplied text files (the CLI's --file, /pronounce imports, and the .txt files and zip
 * members sent for narration): bounded, UTF-8 only, with a clear reason when a file is not text.
 */

export class TextFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TextFileError";
  }
}

export interface DecodeTextOptions {
  maxBytes: number;
}

export function decodeTextFile(buf: Uint8Array, opts: DecodeTextOptions): string {
  if (buf.byteLength > opts.maxBytes) {
    throw new TextFileError(
      `The file is ${formatBytes(buf.byteLength)}; the limit is ${formatBytes(opts.maxBytes)}.`,
    );
  }
  // A NUL byte never appears in real UTF-8 text; it is the cheapest reliable sign of a binary file.
  if (buf.includes(0))
    throw new TextFileError("The file looks binary, not text. Please send a UTF-8 .txt file.");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(buf);
  } catch {
    throw new TextFileError("The file is not valid UTF-8 text. Please save it as UTF-8 and try again.");
  }
  if (text.trim() === "") throw new TextFileError("The file is empty.");
  return text;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}
