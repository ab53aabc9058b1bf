import { describe, expect, it } from "vitest";
import { type FairQueueInput, pickNext, type QueueCandidate } from "../../src/requests/fair-queue.ts";

const c = (id: string, requesterId: string, upvotes = 0, createdAt = 0): QueueCandidate => ({
  id,
  requesterId,
  upvotes,
  createdAt,
});

const ids = (input: Partial<FairQueueInput> & Pick<FairQueueInput, "waiting">) =>
  pickNext({ running: new Map(), slots: 10, ...input }).map((p) => p.id);

describe("pickNext", () => {
  const cases: {
    name: string;
    input: Partial<FairQueueInput> & Pick<FairQueueInput, "waiting">;
    want: string[];
  }[] = [
    { name: "nothing waiting", input: { waiting: [] }, want: [] },
    { name: "no free slot", input: { waiting: [c("a1", "A")], slots: 0 }, want: [] },
    { name: "negative slots", input: { waiting: [c("a1", "A")], slots: -2 }, want: [] },
    {
      name: "one requester: upvotes, then age",
      input: { waiting: [c("a1", "A", 0, 1), c("a2", "A", 3, 2), c("a3", "A", 0, 0)] },
      want: ["a2", "a3", "a1"],
    },
    {
      name: "round-robin between requesters",
      input: {
        waiting: [
          c("a1", "A", 0, 1),
          c("a2", "A", 0, 2),
          c("a3", "A", 0, 3),
          c("b1", "B", 0, 4),
          c("c1", "C", 0, 5),
        ],
      },
      want: ["a1", "b1", "c1", "a2", "a3"],
    },
    {
      name: "a requester with a running job waits for the others",
      input: {
        waiting: [c("a1", "A", 9, 0), c("b1", "B", 0, 5)],
        running: new Map([["A", 1]]),
        slots: 1,
      },
      want: ["b1"],
    },
    {
      name: "equal load: the requester served longest ago goes first",
      input: {
        waiting: [c("a1", "A", 5, 0), c("b1", "B", 0, 9)],
        lastStartedAt: new Map([
          ["A", 200],
          ["B", 100],
        ]),
        slots: 1,
      },
      want: ["b1"],
    },
    {
      name: "never served beats served",
      input: {
        waiting: [c("a1", "A", 5, 0), c("b1", "B", 0, 9)],
        lastStartedAt: new Map([["A", 1]]),
        slots: 1,
      },
      want: ["b1"],
    },
    {
      name: "between fresh requesters: more upvotes first, then older",
      input: { waiting: [c("a1", "A", 1, 0), c("b1", "B", 2, 9), c("c1", "C", 1, 5)] },
      want: ["b1", "a1", "c1"],
    },
    {
      name: "slots bound the picks",
      input: { waiting: [c("a1", "A"), c("b1", "B"), c("c1", "C")], slots: 2 },
      want: ["a1", "b1"],
    },
    {
      name: "ties end on the id",
      input: { waiting: [c("z", "A"), c("y", "A")] },
      want: ["y", "z"],
    },
  ];
  for (const { name, input, want } of cases) {
    it(name, () => expect(ids(input)).toEqual(want));
  }

  it("does not change its input", () => {
    const waiting = [c("a2", "A", 0, 2), c("a1", "A", 0, 1)];
    pickNext({ waiting, running: new Map(), slots: 2 });
    expect(waiting.map((w) => w.id)).toEqual(["a2", "a1"]);
  });
});
