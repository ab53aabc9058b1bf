import { crc32 } from "node:zlib";
import { Inflate } from "fflate";
import { UserFacingError } from "../user-facing-error.ts";
import { formatBytes } from "./text-file.ts";

/**
 * Reading a user's zip without trusting it: the central directory is checked (count, names, types,
 * declared sizes) before a single byte is inflated, and inflation itself stops as soon as an entry
 * outgrows its limit, so a zip bomb costs at most one limit of memory. Only the directory is parsed
 * here; fflate does the inflating. fflate's own zip readers do not fit: `unzipSync` inflates an entry
 * whole into a buffer of its declared size and keeps decoding past it (a 500 KB zip claiming 100 bytes
 * burns 1.6 s and returns 100 bytes, with no error), and neither its `filter` nor the streaming `Unzip`
 * reports an entry's CRC-32 or flags, so a corrupted member that inflates to the right length would be
 * narrated garbled and an encrypted one would not be named as such.
 */

export interface ZipLimits {
  /** Narrated members at most (macOS metadata entries are not counted). */
  maxEntries: number;
  /** Inflated size of one member. */
  maxEntryBytes: number;
  /** Inflated size of all members together. */
  maxTotalBytes: number;
}

export type MemberKind = "txt" | "json";

export interface ZipMember {
  /** The name in the user's zip. */
  name: string;
  data: Uint8Array;
}

interface Entry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
/** Inflating this much input at a time yields at most ~1 MiB (deflate peaks near 1:1032). */
const INFLATE_STEP = 1024;

const natural = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/**
 * The members of a zip of `.txt` or `.json` files, all of one kind, in natural order of their names
 * (`2.txt` before `10.txt`). Throws a UserFacingError naming the first problem.
 */
export function readZipMembers(
  bytes: Uint8Array,
  limits: ZipLimits,
): { kind: MemberKind; members: ZipMember[] } {
  const entries = readCentralDirectory(bytes).filter((e) => !isPlatformJunk(e.name));
  if (entries.length === 0) throw new UserFacingError("The zip holds no .txt or .json files.");
  if (entries.length > limits.maxEntries) {
    throw new UserFacingError(`The zip holds ${entries.length} files; the limit is ${limits.maxEntries}.`);
  }
  const kind = checkNamesAndKinds(entries);
  let declaredTotal = 0;
  for (const e of entries) {
    if (e.flags & 1) throw new UserFacingError(`\`${e.name}\` is password-protected; send it unencrypted.`);
    if (e.method !== STORED && e.method !== DEFLATED) {
      throw new UserFacingError(`\`${e.name}\` uses an unsupported compression; re-create the zip normally.`);
    }
    if (e.size > limits.maxEntryBytes) throw entryTooLarge(e.name, e.size, limits.maxEntryBytes);
    declaredTotal += e.size;
  }
  if (declaredTotal > limits.maxTotalBytes) throw totalTooLarge(limits.maxTotalBytes);

  let remaining = limits.maxTotalBytes;
  const members = entries
    .sort((a, b) => natural.compare(a.name, b.name) || (a.name < b.name ? -1 : 1))
    .map((e) => {
      // Declared sizes can lie, so the actual output is bounded again while inflating.
      const data = extract(bytes, e, Math.min(limits.maxEntryBytes, remaining), limits);
      remaining -= data.byteLength;
      return { name: e.name, data };
    });
  return { kind, members };
}

/** macOS and Windows add these when zipping a folder; refusing them would puzzle people. */
function isPlatformJunk(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1);
  return name.startsWith("__MACOSX/") || base === ".DS_Store" || base === "Thumbs.db";
}

function checkNamesAndKinds(entries: Entry[]): MemberKind {
  const seen = new Set<string>();
  const kinds = new Set<MemberKind>();
  for (const { name } of entries) {
    if (/^[/\\]|^[A-Za-z]:|(^|[/\\])\.\.([/\\]|$)/.test(name)) {
      throw new UserFacingError(`\`${name}\` points outside the zip; such zips are refused.`);
    }
    if (name.endsWith("/")) {
      throw new UserFacingError(`The zip contains the folder \`${name}\`: put the files at its top level.`);
    }
    if (/[/\\]/.test(name)) {
      throw new UserFacingError(`\`${name}\` is inside a folder: put the files at the top level of the zip.`);
    }
    const ext = /\.(txt|json)$/i.exec(name)?.[1]?.toLowerCase();
    if (ext !== "txt" && ext !== "json") {
      throw new UserFacingError(`\`${name}\` is not a .txt or .json file; the zip may only hold those.`);
    }
    kinds.add(ext);
    const key = name.toLowerCase();
    if (seen.has(key)) throw new UserFacingError(`\`${name}\` appears twice in the zip.`);
    seen.add(key);
  }
  if (kinds.size > 1) {
    throw new UserFacingError("The zip mixes .txt and .json files; MiniMax needs them all of one kind.");
  }
  return [...kinds][0]!;
}

function extract(bytes: Uint8Array, e: Entry, maxBytes: number, limits: ZipLimits): Uint8Array {
  const start = dataStart(bytes, e);
  if (start + e.compressedSize > bytes.length) throw damaged(e.name);
  const raw = bytes.subarray(start, start + e.compressedSize);
  const tooMuch = () =>
    maxBytes < limits.maxEntryBytes
      ? totalTooLarge(limits.maxTotalBytes)
      : entryTooLarge(e.name, undefined, limits.maxEntryBytes);
  let data: Uint8Array;
  if (e.method === STORED) {
    if (raw.length > maxBytes) throw tooMuch();
    data = raw;
  } else {
    data = inflateBounded(raw, maxBytes, tooMuch);
  }
  // A short or corrupt stream does not fail in fflate's streaming inflater; the size and CRC catch it.
  if (data.length !== e.size || crc32(data) >>> 0 !== e.crc) throw damaged(e.name);
  return data;
}

function inflateBounded(raw: Uint8Array, maxBytes: number, tooMuch: () => Error): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    // Thrown out of `push`, which stops inflating right here.
    if (total > maxBytes) throw tooMuch();
    parts.push(chunk);
  });
  try {
    for (let i = 0; i < raw.length || i === 0; i += INFLATE_STEP) {
      inflater.push(raw.subarray(i, i + INFLATE_STEP), i + INFLATE_STEP >= raw.length);
    }
  } catch (err) {
    if (err instanceof UserFacingError) throw err;
    throw damaged();
  }
  return Buffer.concat(parts);
}

function readCentralDirectory(bytes: Uint8Array): Entry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(bytes, view);
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new UserFacingError("Split (multi-part) zips are not supported.");
  }
  if (count === 0xffff || p === 0xffffffff) {
    throw new UserFacingError("ZIP64 archives are not supported; send a normal zip.");
  }
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CDH_SIG) throw damaged();
    const nameLength = view.getUint16(p + 28, true);
    const nameEnd = p + 46 + nameLength;
    if (nameEnd > eocd) throw damaged();
    const entry: Entry = {
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localOffset: view.getUint32(p + 42, true),
      // Bit 11 says UTF-8; older tools write CP437, which only matters for the name's display here.
      name: new TextDecoder().decode(bytes.subarray(p + 46, nameEnd)),
    };
    entries.push(entry);
    p = nameEnd + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
  }
  return entries;
}

function findEndOfCentralDirectory(bytes: Uint8Array, view: DataView): number {
  // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
  const lowest = Math.max(0, bytes.length - 22 - 0xffff);
  for (let i = bytes.length - 22; i >= lowest; i--) {
    if (view.getUint32(i, true) === EOCD_SIG) return i;
  }
  throw new UserFacingError("The file is not a valid zip archive.");
}

function dataStart(bytes: Uint8Array, e: Entry): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = e.localOffset;
  if (p + 30 > bytes.length || view.getUint32(p, true) !== LFH_SIG) throw damaged(e.name);
  // The local header's own name and extra lengths may differ from the central directory's.
  return p + 30 + view.getUint16(p + 26, true) + view.getUint16(p + 28, true);
}

function entryTooLarge(name: string, size: number | undefined, limit: number): UserFacingError {
  const actual = size === undefined ? `more than ${formatBytes(limit)}` : formatBytes(size);
  return new UserFacingError(
    `\`${name}\` unpacks to ${actual}; the limit per file is ${formatBytes(limit)}.`,
  );
}

function totalTooLarge(limit: number): UserFacingError {
  return new UserFacingError(
    `The zip unpacks to more than ${formatBytes(limit)}, the limit for all its files.`,
  );
}

function damaged(name?: string): UserFacingError {
  return new UserFacingError(
    name ? `\`${name}\` in the zip is damaged; re-create the zip.` : "The zip is damaged; re-create it.",
  );
}
