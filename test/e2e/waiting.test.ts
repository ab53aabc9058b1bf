import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest } from "../fakes/discord/http.ts";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Harness, startHarness } from "./harness.ts";

/**
 * Honest waiting: with the account's synthesis rate limit at 3 a minute and 6 members asking at
 * once, 3 start at once and 3 wait about a minute. Each of those is told within 2 s where they stand
 * and about how long it will take, in their deferred reply, refreshed while they wait but no more
 * than every 5 s; all 6 get their audio; nobody is shown an upstream rate-limit error.
 */

const RPM = 3;
const MEMBERS = 6;
const WAITING = /^⏳ You are #(\d+) in line; about \d+ (?:s|min)\.$/;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    env: { TTS_RATE_LIMIT_RPM: String(RPM), SPEAK_MAX_CONCURRENT: "2" },
    // The upstream refuses (1002 rate limit) past one more than the bot allows itself.
    minimax: { rpm: RPM + 1 },
  });
});
afterAll(async () => {
  await h?.close();
});

const hasFiles = (m: FakeMessage) => m.attachments.length > 0;
const originalEdits = (token: string) =>
  h.discord.requests.filter(
    (r) => r.method === "PATCH" && r.route.endsWith(`/${token}/messages/@original`) && r.status === 200,
  );
const contentOf = (r: RecordedRequest) =>
  ((r.json ?? r.multipart?.payload) as { content?: string } | undefined)?.content ?? "";

describe("waiting in line for the synthesis rate limit", () => {
  it("tells every waiting member their place and an estimate, and serves everyone in the end", async () => {
    const members = Array.from({ length: MEMBERS }, (_, i) =>
      h.discord.addMember({ username: `queuer${i}` }),
    );
    const t0 = Date.now();
    const handles = members.map((user, i) =>
      h.discord.dispatchCommand({ name: "speak", user, options: { text: `Member ${i} would like a word.` } }),
    );
    const audio = await Promise.all(handles.map((handle) => handle.waitForResponse(hasFiles, 100_000)));
    expect(audio.every((m) => m.attachments.length === 1)).toBe(true);

    const late = handles.filter((handle) => {
      const final = originalEdits(handle.token).find((r) => (r.multipart?.files.length ?? 0) > 0);
      return final !== undefined && final.at > t0 + 2000;
    });
    // Three slots this minute; the other three waited for the next one.
    expect(late).toHaveLength(MEMBERS - RPM);

    const firstPlaces: number[] = [];
    for (const handle of late) {
      const notices = originalEdits(handle.token).filter((r) => (r.multipart?.files.length ?? 0) === 0);
      expect(notices.length).toBeGreaterThan(0);
      const first = notices[0]!;
      // Told within 2 s, with a place and an estimate.
      expect(first.at - t0).toBeLessThanOrEqual(2000);
      const match = WAITING.exec(contentOf(first));
      expect(match, contentOf(first)).not.toBeNull();
      firstPlaces.push(Number(match![1]));
      // Refreshed while waiting (about a minute), never more often than every 5 s.
      expect(notices.length).toBeGreaterThanOrEqual(5);
      for (let i = 1; i < notices.length; i++) {
        expect(notices[i]!.at - notices[i - 1]!.at).toBeGreaterThanOrEqual(4900);
      }
    }
    expect(firstPlaces.sort()).toEqual([1, 2, 3]);

    // Nobody saw a rate-limit (or any) error: every visible answer is the audio or a notice.
    for (const m of h.discord.allMessages()) {
      expect(m.content).not.toMatch(/rate limit|busy|try again|went wrong/i);
    }
    // The bot kept to its limit, so MiniMax never had to refuse: at most RPM starts in any minute.
    const starts = h.minimax.requests.filter((r) => r.path === "/v1/t2a_v2").map((r) => r.at);
    expect(starts).toHaveLength(MEMBERS);
    for (let i = RPM; i < starts.length; i++) expect(starts[i]! - starts[i - RPM]!).toBeGreaterThan(59_000);
    expect(h.logs.filter((l) => /retrying/i.test(String(l.msg)))).toEqual([]);
  }, 120_000);
});
