import { describe, expect, it } from "vitest";
import { createPlaybackQueue, QueueFullError } from "../../src/voice/queue.ts";

interface Item {
  id: string;
  userId: string;
}

/** "a1" is item 1 of member a. */
const item = (id: string): Item => ({ id, userId: id[0]! });

/** Runs a script of pushes ("+a1") and shifts (">"), returns the shifted ids and the final order. */
function run(script: string[], limits = { maxItems: 50, maxPerUser: 10 }) {
  const q = createPlaybackQueue<Item>(limits);
  const played: string[] = [];
  for (const step of script) {
    if (step === ">") played.push(q.shift()?.id ?? "-");
    else q.push(item(step.slice(1)));
  }
  return { played, waiting: q.list().map((i) => i.id) };
}

describe("playback queue order", () => {
  it.each([
    { name: "one member: first in, first out", script: ["+a1", "+a2", "+a3"], waiting: ["a1", "a2", "a3"] },
    {
      name: "two members take turns in arrival order",
      script: ["+a1", "+a2", "+a3", "+b1", "+b2"],
      waiting: ["a1", "b1", "a2", "b2", "a3"],
    },
    {
      name: "three members round-robin",
      script: ["+a1", "+a2", "+b1", "+c1", "+c2", "+b2"],
      waiting: ["a1", "b1", "c1", "a2", "b2", "c2"],
    },
    {
      name: "a newcomer goes before the member just served",
      script: ["+a1", "+a2", "+a3", ">", "+b1"],
      played: ["a1"],
      waiting: ["b1", "a2", "a3"],
    },
    {
      name: "a newcomer waits behind members not yet served",
      script: ["+a1", "+c1", ">", "+b1"],
      played: ["a1"],
      waiting: ["c1", "b1"],
    },
    {
      name: "queueing again right after being served does not jump the line",
      script: ["+a1", "+b1", ">", "+a2"],
      played: ["a1"],
      waiting: ["b1", "a2"],
    },
    {
      name: "shift follows the listed order",
      script: ["+a1", "+a2", "+b1", ">", ">", ">", ">"],
      played: ["a1", "b1", "a2", "-"],
      waiting: [],
    },
  ])("$name", ({ script, played = [], waiting }) => {
    const result = run(script);
    expect(result.played).toEqual(played);
    expect(result.waiting).toEqual(waiting);
  });

  it("push returns the 1-based position in play order", () => {
    const q = createPlaybackQueue<Item>({ maxItems: 10, maxPerUser: 10 });
    expect(q.push(item("a1"))).toBe(1);
    expect(q.push(item("a2"))).toBe(2);
    expect(q.push(item("b1"))).toBe(2);
    expect(q.peek()?.id).toBe("a1");
  });

  it("remove and clear keep the rest consistent", () => {
    const q = createPlaybackQueue<Item>({ maxItems: 10, maxPerUser: 10 });
    for (const id of ["a1", "a2", "b1", "b2"]) q.push(item(id));
    expect(q.remove("b1")?.id).toBe("b1");
    expect(q.remove("zz")).toBeUndefined();
    expect(q.list().map((i) => i.id)).toEqual(["a1", "b2", "a2"]);
    expect(q.size).toBe(3);
    expect(q.clear().map((i) => i.id)).toEqual(["a1", "b2", "a2"]);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });
});

describe("playback queue bounds", () => {
  it("refuses past the guild limit with a reason", () => {
    const q = createPlaybackQueue<Item>({ maxItems: 2, maxPerUser: 5 });
    q.push(item("a1"));
    q.push(item("b1"));
    expect(() => q.push(item("c1"))).toThrow(QueueFullError);
    expect(() => q.push(item("c1"))).toThrow(/queue is full \(2 items\)/);
    expect(q.size).toBe(2);
  });

  it("refuses past the per-member limit but still takes others", () => {
    const q = createPlaybackQueue<Item>({ maxItems: 10, maxPerUser: 2 });
    q.push(item("a1"));
    q.push(item("a2"));
    expect(() => q.push(item("a3"))).toThrow(/already have 2 items waiting/);
    expect(q.push(item("b1"))).toBe(2);
  });
});
