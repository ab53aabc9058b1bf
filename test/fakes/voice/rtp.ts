import { createCipheriv, createDecipheriv } from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { MODE_AES_GCM, MODE_XCHACHA } from "./protocol.ts";

/**
 * RTP packets of Discord's `*_rtpsize` AEAD modes:
 *
 *   [fixed header 12 B][CSRCs 4·CC B][extension header 4 B if X] ← clear, authenticated as AAD
 *   [extension body][Opus (+ padding if P)]                      ← encrypted
 *   [tag 16 B][nonce counter 4 B, big-endian]                    ← clear
 *
 * The nonce is the counter in the first four bytes of a 12-byte (AES-GCM) or 24-byte (XChaCha20)
 * zero buffer.
 */

const FIXED_HEADER = 12;
const TAG_LENGTH = 16;
const NONCE_COUNTER = 4;

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Bytes sent in clear and authenticated: fixed header, CSRCs and the extension's 4-byte header. */
  aadLength: number;
  /** Bytes of extension body at the start of the decrypted payload. */
  extensionBodyLength: number;
}

export function parseRtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < FIXED_HEADER) return undefined;
  const first = packet[0]!;
  const second = packet[1]!;
  const extension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  let aadLength = FIXED_HEADER + 4 * csrcCount;
  let extensionBodyLength = 0;
  if (extension) {
    if (packet.length < aadLength + 4) return undefined;
    extensionBodyLength = packet.readUInt16BE(aadLength + 2) * 4;
    aadLength += 4;
  }
  return {
    version: first >> 6,
    padding: (first & 0x20) !== 0,
    extension,
    csrcCount,
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    aadLength,
    extensionBodyLength,
  };
}

function nonceFor(mode: string, counter: Buffer): Buffer {
  const nonce = Buffer.alloc(mode === MODE_AES_GCM ? 12 : 24);
  counter.copy(nonce, 0);
  return nonce;
}

export type DecryptResult =
  | { ok: true; header: RtpHeader; nonce: number; payload: Buffer }
  | { ok: false; reason: "malformed" | "auth" };

/** Authenticates and decrypts one packet; `payload` is the Opus data (extension body and padding removed). */
export function decryptRtp(packet: Buffer, mode: string, key: Uint8Array): DecryptResult {
  const header = parseRtpHeader(packet);
  if (header?.version !== 2) return { ok: false, reason: "malformed" };
  if (packet.length < header.aadLength + TAG_LENGTH + NONCE_COUNTER)
    return { ok: false, reason: "malformed" };
  const aad = packet.subarray(0, header.aadLength);
  const counter = packet.subarray(packet.length - NONCE_COUNTER);
  const sealed = packet.subarray(header.aadLength, packet.length - NONCE_COUNTER);
  const nonce = nonceFor(mode, counter);
  let plain: Buffer;
  try {
    if (mode === MODE_AES_GCM) {
      const decipher = createDecipheriv("aes-256-gcm", key, nonce);
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
      plain = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH)),
        decipher.final(),
      ]);
    } else if (mode === MODE_XCHACHA) {
      plain = Buffer.from(xchacha20poly1305(key, nonce, aad).decrypt(sealed));
    } else {
      return { ok: false, reason: "malformed" };
    }
  } catch {
    return { ok: false, reason: "auth" };
  }
  let end = plain.length;
  if (header.padding) {
    const padding = plain[end - 1] ?? 0;
    if (padding === 0 || padding > end - header.extensionBodyLength)
      return { ok: false, reason: "malformed" };
    end -= padding;
  }
  if (header.extensionBodyLength > end) return { ok: false, reason: "malformed" };
  return {
    ok: true,
    header,
    nonce: counter.readUInt32BE(0),
    payload: plain.subarray(header.extensionBodyLength, end),
  };
}

/**
 * Seals a packet the way a client does, for tests that craft their own (`clear` is the authenticated
 * part: fixed header, CSRCs, extension header; `secret` is what gets encrypted after it).
 */
export function encryptRtp(
  clear: Buffer,
  secret: Buffer,
  mode: string,
  key: Uint8Array,
  counter: number,
): Buffer {
  const counterBytes = Buffer.alloc(NONCE_COUNTER);
  counterBytes.writeUInt32BE(counter >>> 0, 0);
  const nonce = nonceFor(mode, counterBytes);
  let sealed: Buffer;
  if (mode === MODE_AES_GCM) {
    const cipher = createCipheriv("aes-256-gcm", key, nonce);
    cipher.setAAD(clear);
    sealed = Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()]);
  } else if (mode === MODE_XCHACHA) {
    sealed = Buffer.from(xchacha20poly1305(key, nonce, clear).encrypt(secret));
  } else {
    throw new RangeError(`unknown encryption mode ${mode}`);
  }
  return Buffer.concat([clear, sealed, counterBytes]);
}

/** A 12-byte header as @discordjs/voice writes it: version 2, no flags, payload type 0x78. */
export function rtpHeader(sequence: number, timestamp: number, ssrc: number, payloadType = 0x78): Buffer {
  const out = Buffer.alloc(FIXED_HEADER);
  out[0] = 0x80;
  out[1] = payloadType;
  out.writeUInt16BE(sequence & 0xffff, 2);
  out.writeUInt32BE(timestamp >>> 0, 4);
  out.writeUInt32BE(ssrc >>> 0, 8);
  return out;
}
