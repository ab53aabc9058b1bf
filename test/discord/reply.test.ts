import { MessageFlags, type RepliableInteraction } from "discord.js";
import { describe, expect, it } from "vitest";
import { answerEphemeral, fitMessage, MAX_CONTENT_LENGTH } from "../../src/discord/reply.ts";

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
