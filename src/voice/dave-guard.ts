import type { VoiceConnection } from "@discordjs/voice";

/**
 * Two DAVE failure paths @discordjs/voice 0.19.2 leaves to us:
 *
 * - Its websocket handler calls `DAVESession.processProposals` (op 27) and `setExternalSender`
 *   (op 25) without a try/catch, inside the socket's message event: a payload davey rejects would
 *   throw out of the event loop and end the process. Each DAVE session is wrapped as the library
 *   creates it (a stateChange of its networking), so the throw becomes a logged, counted DAVE failure;
 *   the group then recovers the usual way (the next commit fails, op 31, a fresh key package).
 * - Close code 4017 (the voice server requires a DAVE version we do not offer) makes the library
 *   rejoin forever. Only a fixed installation helps, so the caller ends the session with a notice.
 */

/** The voice server refused us for lacking (a recent enough) DAVE. */
export const DAVE_REQUIRED_CLOSE = 4017;

interface DaveSessionLike {
  processProposals(payload: Buffer, connectedClients: Set<string>): Buffer | undefined;
  setExternalSender(externalSender: Buffer): void;
}

interface NetworkingLike {
  state: object;
  on(event: "stateChange", listener: (oldState: object, newState: object) => void): unknown;
  on(event: "close", listener: (code: number) => void): unknown;
}

export interface DaveGuardEvents {
  /** A DAVE step threw inside the library's message handler (and was contained). */
  onDaveError(err: unknown, step: "proposals" | "external-sender"): void;
  /** The voice websocket closed with 4017. */
  onDaveRequired(): void;
}

const guarded = new WeakSet<object>();

export function guardDave(connection: VoiceConnection, events: DaveGuardEvents): void {
  const watchNetworking = (state: object) => {
    const networking = (state as { networking?: NetworkingLike }).networking;
    if (!networking || guarded.has(networking)) return;
    guarded.add(networking);
    wrapSession((networking.state as { dave?: DaveSessionLike }).dave, events);
    networking.on("stateChange", (_old, next) => {
      wrapSession((next as { dave?: DaveSessionLike }).dave, events);
    });
    networking.on("close", (code) => {
      if (code === DAVE_REQUIRED_CLOSE) events.onDaveRequired();
    });
  };
  watchNetworking(connection.state);
  connection.on("stateChange", (_old, next) => watchNetworking(next));
}

function wrapSession(dave: DaveSessionLike | undefined, events: DaveGuardEvents): void {
  if (!dave || guarded.has(dave)) return;
  guarded.add(dave);
  const processProposals = dave.processProposals.bind(dave);
  const setExternalSender = dave.setExternalSender.bind(dave);
  dave.processProposals = (payload, connectedClients) => {
    try {
      return processProposals(payload, connectedClients);
    } catch (err) {
      events.onDaveError(err, "proposals");
      return undefined;
    }
  };
  dave.setExternalSender = (externalSender) => {
    try {
      setExternalSender(externalSender);
    } catch (err) {
      events.onDaveError(err, "external-sender");
    }
  };
}
