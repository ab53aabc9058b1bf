import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Harness, startHarness } from "./harness.ts";

/**
 * Voice previews on /voices and designed voices (/voice design …), end to end: the real discord.js
 * client in the bot, the fake Discord and the fake MiniMax (which designs voices faithfully).
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.minimax.reset();
  h.minimax.clearFaults();
});

const calls = (path: string) => h.minimax.requests.filter((r) => r.path === path);
const hasFiles = (m: FakeMessage) => m.attachments.length > 0;
const hasText = (m: FakeMessage) => m.content.length > 0;
const EPHEMERAL = 64;
const users = () => h.discord.fixtures.users;

async function openVoices(user: string, search: string): Promise<FakeMessage> {
  const handle = h.discord.dispatchCommand({ name: "voices", user, options: { search } });
  return handle.waitForResponse((m) => m.embeds.length > 0);
}

function previewIds(message: FakeMessage): string[] {
  const ids: string[] = [];
  for (const row of message.components as { components?: { custom_id?: string }[] }[]) {
    for (const c of row.components ?? [])
      if (c.custom_id?.startsWith("voices:preview:")) ids.push(c.custom_id);
  }
  return ids;
}

describe("/voices previews", () => {
  it("plays a private mp3 sample; the second preview of the same voice makes no provider call", async () => {
    const list = await openVoices(users().member.id, "CalmWoman");
    const ids = previewIds(list);
    expect(ids).toContain("voices:preview:English_CalmWoman");

    const first = h.discord.dispatchComponent({
      customId: "voices:preview:English_CalmWoman",
      message: list,
      user: users().member.id,
    });
    const clip = await first.waitForResponse(hasFiles);
    expect((clip.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
    expect(clip.attachments[0]!.filename).toBe("voice-preview.mp3");
    const bytes = h.discord.attachmentBytes(clip.id, 0);
    expect(bytes[0]).toBe(0xff); // an mp3 frame sync
    expect(clip.content).toContain("English_CalmWoman");
    const bodies = calls("/v1/t2a_v2").map((r) => r.json as Record<string, unknown>);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      voice_setting: { voice_id: "English_CalmWoman" },
      audio_setting: { format: "mp3" },
      text: "Hello! This is how I sound. I can read your messages aloud.",
    });

    // Another member, same voice and model: straight from the audio cache.
    const second = h.discord.dispatchComponent({
      customId: "voices:preview:English_CalmWoman",
      message: list,
      user: users().admin.id,
    });
    const again = await second.waitForResponse(hasFiles);
    expect(calls("/v1/t2a_v2")).toHaveLength(1);
    expect(h.discord.attachmentBytes(again.id, 0)).toEqual(bytes);
  });

  it("previews spend no member's or server's budget, while /speak is held to it", async () => {
    const admin = users().admin.id;
    await h.discord
      .dispatchCommand({
        name: "settings limits",
        user: admin,
        options: { user_daily_chars: 5, guild_daily_chars: 5 },
      })
      .waitForResponse(hasText);
    try {
      const list = await openVoices(users().member.id, "Deep_Voice");
      const clip = await h.discord
        .dispatchComponent({
          customId: "voices:preview:Deep_Voice_Man",
          message: list,
          user: users().member.id,
        })
        .waitForResponse(hasFiles);
      expect(clip.attachments[0]!.filename).toBe("voice-preview.mp3");
      expect(calls("/v1/t2a_v2")).toHaveLength(1);
      const speak = await h.discord
        .dispatchCommand({ name: "speak", user: users().member.id, options: { text: "Too long for five." } })
        .waitForResponse(hasText);
      expect(speak.content).toMatch(/budget/);
      expect(calls("/v1/t2a_v2")).toHaveLength(1);
    } finally {
      await h.discord
        .dispatchCommand({ name: "settings reset", user: admin, options: { section: "limits" } })
        .waitForResponse(hasText);
    }
  });

  it("rate-limits a member who presses through the catalog, with a clear private message", async () => {
    const list = await openVoices(users().owner.id, "English_");
    const ids = previewIds(list);
    expect(ids.length).toBeGreaterThanOrEqual(7);
    const answers: FakeMessage[] = [];
    for (const customId of ids.slice(0, 7)) {
      const handle = h.discord.dispatchComponent({ customId, message: list, user: users().owner.id });
      answers.push(await handle.waitForResponse((m) => hasFiles(m) || hasText(m)));
    }
    expect(answers.slice(0, 6).every(hasFiles)).toBe(true);
    const refused = answers[6]!;
    expect(refused.attachments).toHaveLength(0);
    expect((refused.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
    expect(refused.content).toMatch(
      /You have played a lot of voice previews just now\. Try again <t:\d+:R>\./,
    );
    // Six previews synthesized, the seventh never reached MiniMax.
    expect(calls("/v1/t2a_v2")).toHaveLength(6);
  });
});

describe("designed voices", () => {
  it("designs a voice, plays its trial, uses it in /speak, and deletes it at MiniMax too", async () => {
    const member = users().member.id;
    const design = h.discord.dispatchCommand({
      name: "voice design",
      user: member,
      options: {
        prompt: "A gravelly old sea captain, slow and warm",
        preview_text: "Ahoy there, welcome aboard!",
        name: "Old Captain",
      },
    });
    const made = await design.waitForResponse(hasFiles);
    expect((made.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
    expect(made.content).toContain("**Old Captain**");
    const [designCall] = calls("/v1/voice_design");
    const sent = designCall!.json as { prompt: string; preview_text: string; voice_id: string };
    expect(sent).toMatchObject({
      prompt: "A gravelly old sea captain, slow and warm",
      preview_text: "Ahoy there, welcome aboard!",
    });
    expect(sent.voice_id).toMatch(/^designed-/);
    expect(h.minimax.designedVoices.has(sent.voice_id)).toBe(true);
    expect(h.discord.attachmentBytes(made.id, 0)[0]).toBe(0xff);

    const list = await h.discord
      .dispatchCommand({ name: "voice design-list", user: member })
      .waitForResponse(hasText);
    expect(list.content).toContain(`🎨 **Old Captain** · yours · \`${sent.voice_id}\``);

    // Autocomplete offers it under its name.
    const choices = await h.discord
      .dispatchAutocomplete({
        name: "speak",
        user: member,
        options: { text: "x", voice: "capt" },
        focused: "voice",
      })
      .waitForAck();
    expect(choices[0]).toMatchObject({ value: sent.voice_id });
    expect(choices[0]!.name).toContain("Old Captain");

    // /speak with it: MiniMax gets the designed id.
    await h.discord
      .dispatchCommand({
        name: "speak",
        user: member,
        options: { text: "Hoist the sails!", voice: sent.voice_id },
      })
      .waitForResponse(hasFiles);
    // …and by its name too.
    await h.discord
      .dispatchCommand({
        name: "speak",
        user: member,
        options: { text: "Drop anchor!", voice: "old captain" },
      })
      .waitForResponse(hasFiles);
    const voices = calls("/v1/t2a_v2").map(
      (r) => (r.json as { voice_setting: { voice_id: string } }).voice_setting.voice_id,
    );
    expect(voices).toEqual([sent.voice_id, sent.voice_id]);

    // Another member cannot use it (not shared): refused before any provider call.
    const other = await h.discord
      .dispatchCommand({
        name: "speak",
        user: users().owner.id,
        options: { text: "Mine now", voice: sent.voice_id },
      })
      .waitForResponse(hasText);
    expect(other.content).toContain("That designed voice is not available to you here");
    expect(calls("/v1/t2a_v2")).toHaveLength(2);

    const deleted = await h.discord
      .dispatchCommand({ name: "voice design-delete", user: member, options: { voice: sent.voice_id } })
      .waitForResponse(hasText);
    expect(deleted.content).toBe("Deleted the designed voice **Old Captain**.");
    const [deleteCall] = calls("/v1/delete_voice");
    expect(deleteCall!.json).toEqual({ voice_type: "voice_generation", voice_id: sent.voice_id });
    expect(h.minimax.designedVoices.has(sent.voice_id)).toBe(false);

    const after = await h.discord
      .dispatchCommand({
        name: "speak",
        user: member,
        options: { text: "Still here?", voice: sent.voice_id },
      })
      .waitForResponse(hasText);
    expect(after.content).toContain("That designed voice is not available to you here");
  });

  it("respects voice_design_access: moderators only, when the server says so", async () => {
    const admin = users().admin.id;
    await h.discord
      .dispatchCommand({
        name: "settings access",
        user: admin,
        options: { voice_design_access: "moderators" },
      })
      .waitForResponse(hasText);
    const refused = await h.discord
      .dispatchCommand({
        name: "voice design",
        user: users().member.id,
        options: { prompt: "A cheerful robot", preview_text: "Beep boop, hello!", name: "Robo" },
      })
      .waitForResponse(hasText);
    expect(refused.content).toBe("On this server only moderators can design voices.");
    expect(calls("/v1/voice_design")).toHaveLength(0);

    const allowed = await h.discord
      .dispatchCommand({
        name: "voice design",
        user: admin,
        options: { prompt: "A cheerful robot", preview_text: "Beep boop, hello!", name: "Robo" },
      })
      .waitForResponse(hasFiles);
    expect(allowed.content).toContain("**Robo**");

    // Shared by the moderator, the member can use it.
    const voiceId = (calls("/v1/voice_design")[0]!.json as { voice_id: string }).voice_id;
    await h.discord
      .dispatchCommand({ name: "voice design-share", user: admin, options: { voice: voiceId } })
      .waitForResponse(hasText);
    await h.discord
      .dispatchCommand({ name: "speak", user: users().member.id, options: { text: "Beep", voice: "Robo" } })
      .waitForResponse(hasFiles);
    expect(
      calls("/v1/t2a_v2").map(
        (r) => (r.json as { voice_setting: { voice_id: string } }).voice_setting.voice_id,
      ),
    ).toEqual([voiceId]);
    await h.discord
      .dispatchCommand({ name: "settings access", user: admin, options: { voice_design_access: "members" } })
      .waitForResponse(hasText);
  });
});
