/**
 * The voice gateway's binary frames for DAVE: from the server `seq:u16 op:u8 payload` (the sequence
 * shares its counter with the JSON messages' `seq`), from the client `op:u8 payload`. MLS vectors use
 * RFC 9420's variable-size length prefix (1, 2 or 4 bytes, the top two bits saying which).
 */

export const DAVE_OPS = {
  PrepareTransition: 21,
  ExecuteTransition: 22,
  TransitionReady: 23,
  PrepareEpoch: 24,
  MlsExternalSender: 25,
  MlsKeyPackage: 26,
  MlsProposals: 27,
  MlsCommitWelcome: 28,
  MlsAnnounceCommitTransition: 29,
  MlsWelcome: 30,
  MlsInvalidCommitWelcome: 31,
} as const;

/** Binary opcodes a client may send. */
export const CLIENT_BINARY_OPS: ReadonlySet<number> = new Set([
  DAVE_OPS.MlsKeyPackage,
  DAVE_OPS.MlsCommitWelcome,
]);

export function serverFrame(seq: number, op: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt16BE(seq & 0xffff, 0);
  head.writeUInt8(op, 2);
  return Buffer.concat([head, payload]);
}

export function parseClientFrame(data: Buffer): { op: number; payload: Buffer } | undefined {
  if (data.length < 1) return undefined;
  return { op: data.readUInt8(0), payload: data.subarray(1) };
}

/** RFC 9420 §2.1.2 length prefix followed by the bytes. */
export function mlsVector(bytes: Uint8Array): Buffer {
  const n = bytes.length;
  let head: Buffer;
  if (n < 0x40) head = Buffer.from([n]);
  else if (n < 0x4000) {
    head = Buffer.alloc(2);
    head.writeUInt16BE(0x4000 | n);
  } else if (n < 0x40000000) {
    head = Buffer.alloc(4);
    head.writeUInt32BE((0x80000000 | n) >>> 0);
  } else throw new Error("MLS vector too long");
  return Buffer.concat([head, bytes]);
}

/** Reads a length prefix: the length and how many bytes the prefix took. */
export function readMlsVarint(bytes: Uint8Array, offset = 0): { length: number; size: number } | undefined {
  if (offset >= bytes.length) return undefined;
  const first = bytes[offset]!;
  const prefix = first >> 6;
  if (prefix === 3) return undefined;
  const size = 1 << prefix;
  if (offset + size > bytes.length) return undefined;
  let length = first & 0x3f;
  for (let i = 1; i < size; i++) length = length * 256 + bytes[offset + i]!;
  return { length, size };
}
