import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord/index.ts";
import type { OptionValue } from "../fakes/discord/options.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

/** `/pronounce` end to end, and the dictionary reaching MiniMax with sync and async requests. */

let h: Harness;
const LONG = "Omg, the quick brown fox jumps over the lazy dog. ".repeat(10).trim(); // over SYNC_MAX_CHARS

beforeAll(async () => {
  h = await startHarness({ env: { SYNC_MAX_CHARS: "200" }, minimax: { asyncProcessingMs: 200 } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.minimax.reset();
});

const admin = () => h.discord.fixtures.users.admin.id;
const hasFiles = (m: FakeMessage) => m.attachments.length > 0;
const isEphemeral = (m: FakeMessage) => ((m.flags ?? 0) & 64) === 64;

function bodiesOf(path: string): Record<string, unknown>[] {
  return h.minimax.requests.filter((r) => r.path === path).map((r) => r.json as Record<string, unknown>);
}

async function pronounce(sub: string, options: Record<string, OptionValue> = {}, user = admin()) {
  const handle = h.discord.dispatchCommand({
    name: `pronounce ${sub}`,
    user,
    options,
  });
  return { handle, reply: await handle.waitForResponse((m) => m.content.length > 0 || hasFiles(m)) };
}

const txt = (filename: string, text: string) => ({
  file: { filename, data: Buffer.from(text), contentType: "text/plain" },
});

describe("/pronounce", () => {
  it("is registered for Manage Server members only, in servers only", () => {
    const def = h.discord
      .registeredCommands(h.discord.fixtures.guild.id)
      .find((c) => c.name === "pronounce") as {
      default_member_permissions: string | null;
      contexts?: number[];
    };
    expect(def.default_member_permissions).toBe(String(1n << 5n)); // MANAGE_GUILD
    expect(def.contexts).toEqual([0]);
  });

  it("an admin's entry is sent as pronunciation_dict.tone with /speak", async () => {
    const { reply } = await pronounce("add", { original: "omg", replacement: "oh my god" });
    expect(reply.content).toMatch(/Saved: `omg` → `oh my god`/);
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.allowed_mentions).toEqual({ parse: [] });

    await h.discord
      .dispatchCommand({ name: "speak", user: h.discord.fixtures.users.member.id, options: { text: "omg" } })
      .waitForResponse(hasFiles);
    const [body] = bodiesOf("/v1/t2a_v2");
    expect(body).toMatchObject({ text: "omg", pronunciation_dict: { tone: ["omg/oh my god"] } });
  });

  it("a long /speak sends the dictionary in the t2a_async_v2 body too", async () => {
    await pronounce("add", { original: "omg", replacement: "oh my god" });
    await h.discord
      .dispatchCommand({ name: "speak", options: { text: LONG } })
      .waitForResponse((m) => m.content.includes("job `"));
    await waitFor(() => bodiesOf("/v1/t2a_async_v2").length > 0, 5000, "async task");
    expect(bodiesOf("/v1/t2a_async_v2")[0]).toMatchObject({
      pronunciation_dict: { tone: expect.arrayContaining(["omg/oh my god"]) },
    });
  });

  it("refuses invalid entries with the reason", async () => {
    const { reply } = await pronounce("add", { original: "处理", replacement: "(chu7)(li3)" });
    expect(reply.content).toMatch(/tones are 1–5 in pinyin and 1–6/);
    expect(isEphemeral(reply)).toBe(true);
  });

  it("imports a .txt (merge), reports bad lines, and exports .json that parses back", async () => {
    const file = "# team words\nomg/oh my god\n处理/(chu3)(li3)\nread/(riːd)\nnot an entry\n";
    const { reply } = await pronounce("import", { ...txt("words.txt", file), mode: "replace" });
    expect(reply.content).toMatch(/Replaced the dictionary with 3 entries from “words.txt”/);
    expect(reply.content).toMatch(/1 skipped:\n- line 5: /);

    const exported = await pronounce("export", { format: "json" });
    expect(isEphemeral(exported.reply)).toBe(true);
    expect(exported.reply.attachments[0]!.filename).toBe("pronunciation.json");
    const bytes = h.discord.attachmentBytes(exported.reply.id, 0);
    expect(JSON.parse(bytes.toString("utf8"))).toEqual([
      { original: "omg", replacement: "oh my god" },
      { original: "处理", replacement: "(chu3)(li3)" },
      { original: "read", replacement: "(riːd)" },
    ]);

    const list = await pronounce("list");
    expect(list.reply.content).toContain("处理 → (chu3)(li3)");
    expect(isEphemeral(list.reply)).toBe(true);
  });

  it("pages a full dictionary under Discord's message limit, with working buttons", async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `word${i}/${"a long replacement ".repeat(5)}${i}`);
    const { reply } = await pronounce("import", { ...txt("full.txt", lines.join("\n")), mode: "replace" });
    expect(reply.content).toMatch(/with 200 entries/);
    const list = await pronounce("list");
    const first = list.reply;
    expect(first.content).toMatch(/200\/200 entries · page 1 of (\d+)/);
    expect(first.content.length).toBeLessThanOrEqual(2000);
    const rows = first.components as { components: { label?: string; custom_id: string }[] }[];
    const next = rows[0]!.components.find((c) => c.label === "Next")!;
    await h.discord
      .dispatchComponent({ customId: next.custom_id, message: first.id, user: admin() })
      .waitForAck();
    const second = h.discord.message(first.id)!;
    expect(second.content).toMatch(/page 2 of/);
    expect(second.content).not.toContain("word0 →");
  });

  it("refuses other file types, naming the accepted ones", async () => {
    const { reply } = await pronounce("import", txt("words.csv", "omg,oh my god"));
    expect(reply.content).toMatch(/Send a \.txt or \.json file, not “words\.csv”/);
  });

  it("removes an entry offered by autocomplete", async () => {
    await pronounce("import", { ...txt("tokyo.txt", "東京/トウキョウ\n"), mode: "replace" });
    const choices = await h.discord
      .dispatchAutocomplete({
        name: "pronounce remove",
        user: admin(),
        options: { original: "東" },
        focused: "original",
      })
      .waitForAck();
    expect(choices).toEqual([{ name: "東京 → トウキョウ", value: "東京" }]);
    const { reply } = await pronounce("remove", { original: "東京" });
    expect(reply.content).toBe("Removed `東京`.");
  });

  it("refuses a member without Manage Server at run time and changes nothing", async () => {
    // The fake Discord does not apply default_member_permissions on dispatch (a server could also
    // override it), so this exercises the handler's own check.
    await pronounce("import", { ...txt("keep.txt", "keep/kept\n"), mode: "replace" });
    const member = h.discord.fixtures.users.member.id;
    const { reply } = await pronounce("add", { original: "omg", replacement: "oops" }, member);
    expect(reply.content).toMatch(/Manage Server/);
    expect(isEphemeral(reply)).toBe(true);
    const autocomplete = await h.discord
      .dispatchAutocomplete({
        name: "pronounce remove",
        user: member,
        options: { original: "" },
        focused: "original",
      })
      .waitForAck();
    expect(autocomplete).toEqual([]);
    const exported = await pronounce("export", { format: "txt" });
    expect(h.discord.attachmentBytes(exported.reply.id, 0).toString("utf8")).toMatch(/\nkeep\/kept\n$/);
  });
});
