/**
 * ustar archives for MiniMax async results, plus hostile variants a result downloader must refuse.
 * Headers are written by hand because the hostile ones (huge declared sizes, links, cut-off data)
 * are exactly what a well-behaved tar library will not produce.
 */

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink";

export interface TarEntry {
  name: string;
  type?: TarEntryType;
  content?: Buffer;
  linkname?: string;
  /** Size written into the header when it should lie about the content that follows. */
  declaredSize?: number;
  mode?: number;
  /** Unix seconds. */
  mtime?: number;
}

const BLOCK = 512;
const TYPE_FLAGS: Record<TarEntryType, string> = { file: "0", hardlink: "1", symlink: "2", directory: "5" };

function writeString(header: Buffer, value: string, offset: number, length: number): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  bytes.copy(header, offset);
}

/** Octal, NUL-terminated, zero-padded: the portable ustar number encoding (11 digits ⇒ < 8 GiB). */
function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar number too large: ${value}`);
  writeString(header, `${digits.padStart(length - 1, "0")}\0`, offset, length);
}

/** Long names go into the ustar `prefix` field, split at a `/`. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  throw new Error(`tar name too long for ustar: ${name}`);
}

export function tarHeader(entry: TarEntry): Buffer {
  const type = entry.type ?? "file";
  const header = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(
    type === "directory" && !entry.name.endsWith("/") ? `${entry.name}/` : entry.name,
  );
  writeString(header, name, 0, 100);
  writeOctal(header, entry.mode ?? (type === "directory" ? 0o755 : 0o644), 100, 8);
  writeOctal(header, 0, 108, 8);
  writeOctal(header, 0, 116, 8);
  writeOctal(header, entry.declaredSize ?? (type === "file" ? (entry.content?.length ?? 0) : 0), 124, 12);
  writeOctal(header, entry.mtime ?? 1_700_000_000, 136, 12);
  header.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(header, TYPE_FLAGS[type], 156, 1);
  writeString(header, entry.linkname ?? "", 157, 100);
  writeString(header, "ustar\0", 257, 6);
  writeString(header, "00", 263, 2);
  writeString(header, "minimax", 265, 32);
  writeString(header, "minimax", 297, 32);
  writeString(header, prefix, 345, 155);
  let sum = 0;
  for (const b of header) sum += b;
  writeString(header, `${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return header;
}

function padding(length: number): Buffer {
  return Buffer.alloc((BLOCK - (length % BLOCK)) % BLOCK);
}

export function* tarEntryChunks(entry: TarEntry): Generator<Buffer> {
  yield tarHeader(entry);
  const content = entry.content ?? Buffer.alloc(0);
  if (content.length > 0) {
    yield content;
    yield padding(content.length);
  }
}

const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

export function buildTar(entries: TarEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap((e) => [...tarEntryChunks(e)]), END_OF_ARCHIVE]);
}

export const MALICIOUS_TAR_VARIANTS = [
  "traversal",
  "absolute",
  "symlink",
  "hardlink",
  "oversized",
  "hugeTotal",
  "truncated",
  "garbage",
] as const;
export type MaliciousTarVariant = (typeof MALICIOUS_TAR_VARIANTS)[number];

export interface MaliciousTarOptions {
  /** `oversized`: size the audio entry's header claims (default 4 GiB, far beyond any sane limit). */
  oversizedBytes?: number;
  /** `hugeTotal`: number of real entries and bytes each (default 256 × 1 MiB = 256 MiB in total). */
  hugeEntries?: number;
  hugeEntryBytes?: number;
  /** `garbage`: how many random bytes. */
  garbageBytes?: number;
}

/** The audio entry of a result (the one a downloader is after), or the first file. */
function audioIndex(entries: TarEntry[]): number {
  const i = entries.findIndex((e) => (e.type ?? "file") === "file" && /\.(mp3|flac|pcm|wav)$/.test(e.name));
  return Math.max(i, 0);
}

function deterministicBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A hostile result built around the legitimate entries, so a client that checks nothing finds the
 * files it expects next to (or replaced by) the attack. Yields chunks lazily: `hugeTotal` is far
 * too large to hold in memory, and a client that stops reading should not cost the fake anything.
 */
export function* maliciousTarChunks(
  variant: MaliciousTarVariant,
  legit: TarEntry[],
  opts: MaliciousTarOptions = {},
): Generator<Buffer> {
  const audio = audioIndex(legit);
  const replaceAudio = (entry: TarEntry): TarEntry[] => legit.map((e, i) => (i === audio ? entry : e));
  const audioName = legit[audio]?.name ?? "content.mp3";
  switch (variant) {
    case "traversal":
      yield buildTar([...legit, { name: "../evil.mp3", content: Buffer.from("pwned") }]);
      return;
    case "absolute":
      yield buildTar([...legit, { name: "/etc/x", content: Buffer.from("pwned") }]);
      return;
    case "symlink":
      // The audio name itself points outside: extracting then reading "the mp3" reads /etc/passwd.
      yield buildTar(replaceAudio({ name: audioName, type: "symlink", linkname: "/etc/passwd" }));
      return;
    case "hardlink":
      yield buildTar(replaceAudio({ name: audioName, type: "hardlink", linkname: "/etc/passwd" }));
      return;
    case "oversized": {
      const entry = legit[audio] ?? { name: audioName, content: Buffer.alloc(0) };
      yield buildTar(replaceAudio({ ...entry, declaredSize: opts.oversizedBytes ?? 4 * 1024 ** 3 }));
      return;
    }
    case "hugeTotal": {
      const count = opts.hugeEntries ?? 256;
      const size = opts.hugeEntryBytes ?? 1024 * 1024;
      const zeros = Buffer.alloc(size);
      const stem = audioName.replace(/\.[^.]+$/, "");
      const ext = audioName.slice(stem.length);
      for (let i = 0; i < count; i++) yield* tarEntryChunks({ name: `${stem}-${i}${ext}`, content: zeros });
      yield END_OF_ARCHIVE;
      return;
    }
    case "truncated": {
      const whole = buildTar(legit);
      // Cut inside the audio data, past its header, so the archive "starts fine".
      let offset = 0;
      for (let i = 0; i < audio; i++)
        offset += BLOCK + Math.ceil((legit[i]!.content?.length ?? 0) / BLOCK) * BLOCK;
      const audioLength = legit[audio]?.content?.length ?? 0;
      yield whole.subarray(0, offset + BLOCK + Math.max(1, Math.floor(audioLength / 2)));
      return;
    }
    case "garbage":
      yield deterministicBytes(opts.garbageBytes ?? 4096, 0x5eed);
      return;
  }
}

export function maliciousTar(
  variant: MaliciousTarVariant,
  legit: TarEntry[],
  opts?: MaliciousTarOptions,
): Buffer {
  return Buffer.concat([...maliciousTarChunks(variant, legit, opts)]);
}
