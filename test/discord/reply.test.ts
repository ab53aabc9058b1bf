import { MessageFlags, type RepliableInteraction } from "discord.js";
import { describe, expect, it } from "vitest";
import { answerEphemeral, deferWhile, fitMessage, MAX_CONTENT_LENGTH } from "../../src/discord/reply.ts";

/** Just the state and methods answerEphemeral looks at; discord.js flips the same flags. */
function interaction(state: { deferred: boolean; replied: boolean; ephemeral: boolean | null }) {
  const calls: { method: string; options: Record<string, unknown> }[] = [];
  const record = (method: string) => async (options: Record<string, unknown>) => {
    calls.push({ method, options });
  };
  const fake = {
    ...state,
    reply: record("reply"),
    editReply: record("editReply"),
    followUp: record("followUp"),
    deleteReply: async () => {
      calls.push({ method: "deleteReply", options: {} });
    },
  };
  return { calls, it: fake as unknown as RepliableInteraction };
}

describe("answerEphemeral", () => {
  // No allowedMentions here: the client's default ({ parse: [] }) applies; see client.test.ts.
  it("replies ephemerally to a fresh interaction", async () => {
    const i = interaction({ deferred: false, replied: false, ephemeral: null });
    expect(await answerEphemeral(i.it, "hi @everyone")).toBe("reply");
    expect(i.calls[0]?.options).toEqual({ content: "hi @everyone", flags: MessageFlags.Ephemeral });
  });

  it("edits the private placeholder left by an ephemeral deferReply", async () => {
    const i = interaction({ deferred: true, replied: false, ephemeral: true });
    expect(await answerEphemeral(i.it, "oops")).toBe("editReply");
    expect(i.calls[0]?.options).toEqual({ content: "oops" });
  });

  it("sends embeds, files and components the same way, content cut to fit", async () => {
    const fresh = interaction({ deferred: false, replied: false, ephemeral: null });
    await answerEphemeral(fresh.it, { embeds: [{ title: "t" }] });
    expect(fresh.calls[0]?.options).toEqual({ embeds: [{ title: "t" }], flags: MessageFlags.Ephemeral });
    const deferred = interaction({ deferred: true, replied: false, ephemeral: true });
    await answerEphemeral(deferred.it, { content: "b".repeat(3000), files: [] });
    expect(deferred.calls[0]?.method).toBe("editReply");
    expect(String(deferred.calls[0]?.options.content)).toHaveLength(MAX_CONTENT_LENGTH);
  });

  it("removes a public placeholder and answers privately instead", async () => {
    const i = interaction({ deferred: true, replied: false, ephemeral: false });
    expect(await answerEphemeral(i.it, "oops")).toBe("followUp");
    expect(i.calls.map((c) => c.method)).toEqual(["deleteReply", "followUp"]);
    expect(i.calls[1]?.options.flags).toBe(MessageFlags.Ephemeral);
  });

  it("follows up instead of overwriting a message after deferUpdate (ephemeral unknown)", async () => {
    const i = interaction({ deferred: true, replied: false, ephemeral: null });
    expect(await answerEphemeral(i.it, "oops")).toBe("followUp");
  });

  it("follows up instead of overwriting an answer the user already has", async () => {
    expect(
      await answerEphemeral(interaction({ deferred: true, replied: true, ephemeral: false }).it, "x"),
    ).toBe("followUp");
    const i = interaction({ deferred: false, replied: true, ephemeral: false });
    expect(await answerEphemeral(i.it, "x")).toBe("followUp");
    expect(i.calls[0]?.options.flags).toBe(MessageFlags.Ephemeral);
  });

  it("shortens a message Discord would refuse as too long", async () => {
    const i = interaction({ deferred: false, replied: false, ephemeral: null });
    await answerEphemeral(i.it, "a".repeat(5000));
    expect(String(i.calls[0]?.options.content)).toHaveLength(MAX_CONTENT_LENGTH);
    expect(fitMessage("short")).toBe("short");
  });
});

describe("deferWhile", () => {
  function deferrable() {
    let acknowledge!: () => void;
    let refuse!: (err: Error) => void;
    const calls: unknown[] = [];
    const interaction = {
      deferReply: (opts: unknown) => {
        calls.push(opts);
        return new Promise<void>((resolve, reject) => {
          acknowledge = resolve;
          refuse = reject;
        });
      },
    } as unknown as RepliableInteraction;
    return { interaction, calls, acknowledge: () => acknowledge(), refuse: (e: Error) => refuse(e) };
  }

  it("starts the work before the deferral is answered and returns its result after it", async () => {
    const d = deferrable();
    let started = false;
    const order: string[] = [];
    const result = deferWhile(d.interaction, true, async () => {
      started = true;
      order.push("work done");
      return 42;
    }).then((v) => {
      order.push("returned");
      return v;
    });
    expect(started).toBe(true);
    expect(d.calls).toEqual([{ flags: MessageFlags.Ephemeral }]);
    await new Promise((r) => setTimeout(r, 5));
    // The work is done, but nothing is returned while the deferral is unanswered.
    expect(order).toEqual(["work done"]);
    d.acknowledge();
    expect(await result).toBe(42);
    expect(order).toEqual(["work done", "returned"]);
  });

  it("throws the work's error only once the interaction is acknowledged", async () => {
    const d = deferrable();
    let settled = false;
    const result = deferWhile(d.interaction, false, async () => {
      throw new Error("refused");
    }).finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(false);
    expect(d.calls).toEqual([{}]);
    d.acknowledge();
    await expect(result).rejects.toThrow("refused");
  });

  it("throws the deferral's error when Discord refuses it, and lets the work finish", async () => {
    const d = deferrable();
    let finished = false;
    const result = deferWhile(d.interaction, false, async () => {
      await new Promise((r) => setTimeout(r, 10));
      finished = true;
      return "audio";
    });
    d.refuse(new Error("Unknown interaction"));
    await expect(result).rejects.toThrow("Unknown interaction");
    await new Promise((r) => setTimeout(r, 20));
    expect(finished).toBe(true);
  });
});
