import { EventEmitter } from "node:events";
import type { VoiceConnection } from "@discordjs/voice";
import { describe, expect, it } from "vitest";
import { DAVE_REQUIRED_CLOSE, guardDave } from "../../src/voice/dave-guard.ts";

/** The shapes @discordjs/voice 0.19 gives a connection, its networking and its DAVE session. */
function fakeDave(label: string) {
  return {
    label,
    processProposals(payload: Buffer, _clients: Set<string>): Buffer | undefined {
      if (payload[0] === 0xff) throw new Error(`${label}: DeserializeProposalFailed(TrailingData)`);
      return Buffer.from([payload[0]!]);
    },
    setExternalSender(_pkg: Buffer): void {
      throw new Error(`${label}: AlreadyInGroup`);
    },
  };
}

function setup() {
  const networking = Object.assign(new EventEmitter(), { state: { dave: fakeDave("first") } as object });
  const connection = Object.assign(new EventEmitter(), { state: { status: "connecting", networking } });
  const errors: Array<{ message: string; step: string }> = [];
  let required = 0;
  guardDave(connection as unknown as VoiceConnection, {
    onDaveError: (err, step) => errors.push({ message: (err as Error).message, step }),
    onDaveRequired: () => {
      required += 1;
    },
  });
  return { networking, connection, errors, required: () => required };
}

describe("DAVE guard", () => {
  it("contains what processProposals and setExternalSender throw, and passes results through", () => {
    const { networking, errors } = setup();
    const dave = (networking.state as { dave: ReturnType<typeof fakeDave> }).dave;
    expect(dave.processProposals(Buffer.from([1]), new Set())).toEqual(Buffer.from([1]));
    expect(dave.processProposals(Buffer.from([0xff]), new Set())).toBeUndefined();
    expect(() => dave.setExternalSender(Buffer.alloc(1))).not.toThrow();
    expect(errors).toEqual([
      { message: "first: DeserializeProposalFailed(TrailingData)", step: "proposals" },
      { message: "first: AlreadyInGroup", step: "external-sender" },
    ]);
  });

  it("wraps a DAVE session created later, and one of a new networking after a rejoin", () => {
    const { networking, connection, errors } = setup();
    const second = fakeDave("second");
    networking.emit("stateChange", {}, { dave: second });
    networking.emit("stateChange", {}, { dave: second });
    expect(second.processProposals(Buffer.from([0xff]), new Set())).toBeUndefined();
    const next = Object.assign(new EventEmitter(), { state: { dave: fakeDave("third") } as object });
    connection.emit("stateChange", {}, { status: "connecting", networking: next });
    const third = (next.state as { dave: ReturnType<typeof fakeDave> }).dave;
    expect(third.processProposals(Buffer.from([0xff]), new Set())).toBeUndefined();
    expect(errors.map((e) => e.message)).toEqual([
      "second: DeserializeProposalFailed(TrailingData)",
      "third: DeserializeProposalFailed(TrailingData)",
    ]);
  });

  it("reports close code 4017 and no other", () => {
    const { networking, required } = setup();
    networking.emit("close", 4006);
    networking.emit("close", 4015);
    expect(required()).toBe(0);
    networking.emit("close", DAVE_REQUIRED_CLOSE);
    expect(required()).toBe(1);
  });
});
