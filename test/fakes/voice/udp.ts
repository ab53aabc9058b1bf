import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { discoveryResponse, parseDiscoveryRequest } from "./ip-discovery.ts";
import type { SessionRegistry } from "./registry.ts";

/**
 * The voice server's one UDP port: IP discovery answers, 8-byte keep-alives, and RTP routed to its
 * session by SSRC. Whatever matches no live session is only counted.
 */

const KEEPALIVE_SIZE = 8;

export class VoiceUdp {
  readonly socket: Socket;
  /** Datagrams that matched no live session (unknown SSRC, ended session, garbage). */
  strayPackets = 0;
  readonly #registry: SessionRegistry;

  private constructor(socket: Socket, registry: SessionRegistry) {
    this.socket = socket;
    this.#registry = registry;
    socket.on("message", (msg, rinfo) => this.#onMessage(msg, rinfo));
    socket.on("error", () => {});
  }

  static async bind(host: string, registry: SessionRegistry): Promise<VoiceUdp> {
    const socket = createSocket("udp4");
    socket.bind(0, host);
    await once(socket, "listening");
    return new VoiceUdp(socket, registry);
  }

  get port(): number {
    return (this.socket.address() as AddressInfo).port;
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const registry = this.#registry;
    const discoverySsrc = parseDiscoveryRequest(msg);
    if (discoverySsrc !== undefined) {
      const session = registry.bySsrc(discoverySsrc);
      if (!session) {
        this.strayPackets += 1;
        return;
      }
      session.discoveredAddress = { address: rinfo.address, port: rinfo.port };
      this.socket.send(
        discoveryResponse(discoverySsrc, rinfo.address, rinfo.port),
        rinfo.port,
        rinfo.address,
      );
      return;
    }
    if (msg.length === KEEPALIVE_SIZE) {
      const session = registry
        .active()
        .find(
          (s) => s.discoveredAddress?.address === rinfo.address && s.discoveredAddress.port === rinfo.port,
        );
      if (session) session.keepalives += 1;
      else this.strayPackets += 1;
      return;
    }
    const session = msg.length >= 12 ? registry.bySsrc(msg.readUInt32BE(8)) : undefined;
    if (!session) {
      this.strayPackets += 1;
      return;
    }
    const info = session.receive(msg, performance.now(), registry.isAudible(session));
    if (info) registry.options.onPacket(session, info);
  }

  async close(): Promise<void> {
    const closed = once(this.socket, "close");
    this.socket.close();
    await closed;
  }
}
