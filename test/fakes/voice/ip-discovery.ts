import { DISCOVERY_PACKET_SIZE } from "./protocol.ts";

/**
 * UDP IP discovery: the client sends type 1 with its SSRC, the server answers type 2 with the address
 * and port it saw the request come from (a NUL-terminated string at offset 8, the port in the last two
 * bytes, big-endian). Both are 74 bytes with a length field of 70 (everything after type and length).
 */

const REQUEST = 0x1;
const RESPONSE = 0x2;
const BODY_LENGTH = DISCOVERY_PACKET_SIZE - 4;
const ADDRESS_OFFSET = 8;
const ADDRESS_FIELD = DISCOVERY_PACKET_SIZE - ADDRESS_OFFSET - 2;

/** The SSRC of a well-formed discovery request, or undefined for anything else. */
export function parseDiscoveryRequest(packet: Buffer): number | undefined {
  if (packet.length !== DISCOVERY_PACKET_SIZE) return undefined;
  if (packet.readUInt16BE(0) !== REQUEST || packet.readUInt16BE(2) !== BODY_LENGTH) return undefined;
  return packet.readUInt32BE(4);
}

export function discoveryResponse(ssrc: number, address: string, port: number): Buffer {
  const bytes = Buffer.from(address, "utf8");
  if (bytes.length >= ADDRESS_FIELD) throw new RangeError(`address too long for IP discovery: ${address}`);
  const out = Buffer.alloc(DISCOVERY_PACKET_SIZE);
  out.writeUInt16BE(RESPONSE, 0);
  out.writeUInt16BE(BODY_LENGTH, 2);
  out.writeUInt32BE(ssrc, 4);
  bytes.copy(out, ADDRESS_OFFSET);
  out.writeUInt16BE(port, DISCOVERY_PACKET_SIZE - 2);
  return out;
}

/** Builds a request the way a client does (for tests that speak UDP themselves). */
export function discoveryRequest(ssrc: number): Buffer {
  const out = Buffer.alloc(DISCOVERY_PACKET_SIZE);
  out.writeUInt16BE(REQUEST, 0);
  out.writeUInt16BE(BODY_LENGTH, 2);
  out.writeUInt32BE(ssrc, 4);
  return out;
}

export function parseDiscoveryResponse(packet: Buffer): { ssrc: number; address: string; port: number } {
  if (packet.length !== DISCOVERY_PACKET_SIZE || packet.readUInt16BE(0) !== RESPONSE) {
    throw new Error("not an IP discovery response");
  }
  const end = packet.indexOf(0, ADDRESS_OFFSET);
  return {
    ssrc: packet.readUInt32BE(4),
    address: packet.subarray(ADDRESS_OFFSET, end).toString("utf8"),
    port: packet.readUInt16BE(DISCOVERY_PACKET_SIZE - 2),
  };
}
