import { describe, expect, it } from "vitest";
import type { Narration, NarrationRequest } from "../../src/jobs/narrate.ts";
import type { JobRecord, JobState } from "../../src/jobs/types.ts";
import {
  createRequestService,
  type RequestService,
  requestJobId,
  type SubmitRequest,
} from "../../src/requests/service.ts";
import { createRequestStore, type RequestStore } from "../../src/requests/store.ts";
import type { NarrationRequestRecord, RequestCards, RequestNotice } from "../../src/requests/types.ts";
import { createGuildSettingsStore, type GuildSettingsPatch } from "../../src/settings/settings.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const GUILD = "100000000000000001";
const REQUESTS = "200000000000000001";
const NARRATION = "200000000000000002";
const MOD = { userId: "mod", guildId: GUILD, name: "Moderator Mia", isModerator: true };

function mapKv() {
  const m = new Map<string, unknown>();
  return {
    map: m,
    get: async (k: string) => structuredClone(m.get(k)),
    set: async (k: string, v: unknown) => void m.set(k, structuredClone(v)),
    delete: async (k: string) => m.delete(k),
  };
}

function setup(
  patch: GuildSettingsPatch = {},
  shared?: { kv: ReturnType<typeof mapKv>; guilds: ReturnType<typeof mapKv> },
) {
  const kv = shared?.kv ?? mapKv();
  const guildKv = shared?.guilds ?? mapKv();
  const guildSettings = createGuildSettingsStore(guildKv);
  let clock = 1_000;
  const now = () => clock;
  const store: RequestStore = createRequestStore(kv, { now });
  const started: { req: NarrationRequest; job: JobRecord }[] = [];
  const jobs = new Map<string, JobRecord>();
  let failNext: Error | undefined;
  const storyChecks: Parameters<Narration["checkStory"]>[0][] = [];
  const narration = {
    /** As the real one: refuses a story naming a voice it does not know (here: Nobody_Voice). */
    async checkStory(req: Parameters<Narration["checkStory"]>[0]): Promise<void> {
      storyChecks.push(req);
      if (req.voices?.includes("Nobody_Voice")) throw new UserFacingError("I do not know that voice.");
    },
    async start(req: NarrationRequest): Promise<JobRecord> {
      if (failNext) {
        const err = failNext;
        failNext = undefined;
        throw err;
      }
      const job = {
        id: `job${jobs.size + 1}`,
        state: "queued",
        title: req.title,
        requesterId: req.actor.userId,
        guildId: req.actor.guildId,
        channelId: req.channelId,
        createdAt: now(),
        updatedAt: now(),
      } as unknown as JobRecord;
      jobs.set(job.id, job);
      started.push({ req, job });
      return job;
    },
  };
  const posted: NarrationRequestRecord[] = [];
  const updates: NarrationRequestRecord[] = [];
  const notices: [string, RequestNotice][] = [];
  const cards: RequestCards = {
    async post(r) {
      posted.push(r);
      return `card-${r.id}`;
    },
    async update(r) {
      updates.push(r);
    },
    async notify(r, notice) {
      notices.push([r.id, notice]);
    },
  };
  const make = () =>
    createRequestService({
      store,
      cards,
      narration,
      guildSettings,
      jobs: { get: async (id) => jobs.get(id) },
      logger: { warn: () => undefined },
      now,
    });
  const service: RequestService = make();
  const ready = guildSettings.update(GUILD, {
    channels: { requests: REQUESTS, narration: NARRATION },
    ...patch,
  });
  /** The job ends as the runner would report it. */
  async function endJob(svc: RequestService, jobId: string, state: JobState = "done") {
    const job = {
      ...jobs.get(jobId)!,
      state,
      finishedAt: now(),
      resultMessageIds: state === "done" ? ["result1"] : undefined,
    };
    if (state === "failed") job.lastError = { kind: "provider", message: "voice missing" };
    jobs.set(jobId, job);
    await svc.onJobChange(job);
  }
  const submit = async (requesterId: string, title = "A story", extra: Partial<SubmitRequest> = {}) => {
    await ready;
    clock += 10;
    return service.submit({
      guildId: GUILD,
      requesterId,
      requesterName: `Name ${requesterId}`,
      channelId: "300000000000000000",
      title,
      text: `Once upon a time, ${title}.`,
      options: {},
      ...extra,
    });
  };
  return {
    kv,
    guildKv,
    store,
    service,
    make,
    started,
    jobs,
    posted,
    updates,
    notices,
    storyChecks,
    submit,
    endJob,
    ready,
    failStart: (err: Error) => {
      failNext = err;
    },
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

describe("request service", () => {
  it("checks a story's voices at submission: an unknown one is refused at once, nothing stored", async () => {
    const t = setup();
    await expect(
      t.submit("alice", "Bad cast", {
        text: "Narrator: Hello.\nAlice: Hi.",
        voices: "Narrator=Wise_Woman, Alice=Nobody_Voice",
      }),
    ).rejects.toThrow(UserFacingError);
    expect(t.posted).toHaveLength(0);
    expect(await t.store.listOpen(GUILD)).toHaveLength(0);

    const r = await t.submit("alice", "Good cast", {
      text: "Narrator: Hello.\nAlice: Hi.",
      voices: "Narrator=Wise_Woman, Alice=Calm_Woman",
    });
    expect(r.title).toBe("Good cast");
    expect(t.storyChecks.at(-1)?.actor).toEqual({
      userId: "alice",
      guildId: GUILD,
      roleIds: [],
      isManager: false,
    });
    // A plain text is no story: nothing to check.
    const checks = t.storyChecks.length;
    await t.submit("bob", "Plain");
    expect(t.storyChecks).toHaveLength(checks);
  });

  it("submit → approve → job started → job done → request done", async () => {
    const t = setup();
    const r = await t.submit("alice", "The Fox");
    expect(r.state).toBe("pending");
    expect(r.cardChannelId).toBe(REQUESTS);
    expect(r.cardMessageId).toBe(`card-${r.id}`);
    expect(t.posted).toHaveLength(1);
    expect(t.started).toHaveLength(0);

    const approved = await t.service.approve(r.id, MOD, " good one ");
    expect(approved.state).toBe("running");
    expect(approved.approverId).toBe("mod");
    expect(approved.reason).toBe("good one");
    expect(approved.jobId).toBe("job1");
    expect(t.started[0]!.req).toMatchObject({
      kind: "request",
      jobId: `rq${r.id}`,
      actor: { userId: "alice", guildId: GUILD },
      channelId: NARRATION,
      text: "Once upon a time, The Fox.",
      title: "The Fox (requested by Name alice, approved by Moderator Mia)",
    });
    expect(t.notices).toContainEqual([r.id, "approved"]);

    await t.endJob(t.service, "job1");
    const done = await t.service.get(r.id);
    expect(done?.state).toBe("done");
    expect(done?.resultMessageId).toBe("result1");
    expect(t.notices).toContainEqual([r.id, "done"]);
    expect(t.updates.at(-1)?.state).toBe("done");
  });

  it("a failed job fails the request with the job's reason", async () => {
    const t = setup();
    const r = await t.submit("alice");
    await t.service.approve(r.id, MOD);
    await t.endJob(t.service, "job1", "failed");
    const failed = await t.service.get(r.id);
    expect(failed).toMatchObject({ state: "failed", error: "voice missing" });
    expect(t.notices).toContainEqual([r.id, "failed"]);
  });

  it("a refused start fails the request and the queue moves on", async () => {
    const t = setup({ limits: { maxConcurrentJobs: 1 } });
    const a = await t.submit("alice");
    const b = await t.submit("bob");
    t.failStart(new UserFacingError("This server allows at most 10 characters."));
    await t.service.approve(a.id, MOD);
    expect(await t.service.get(a.id)).toMatchObject({
      state: "failed",
      error: "This server allows at most 10 characters.",
    });
    await t.service.approve(b.id, MOD);
    expect((await t.service.get(b.id))?.state).toBe("running");
  });

  it("reject with a reason (moderators only)", async () => {
    const t = setup();
    const r = await t.submit("alice");
    await expect(t.service.reject(r.id, { userId: "bob", guildId: GUILD }, "nope")).rejects.toThrow(
      /moderator/,
    );
    const rejected = await t.service.reject(r.id, MOD, "Off topic");
    expect(rejected).toMatchObject({ state: "rejected", reason: "Off topic", rejecterId: "mod" });
    expect(t.notices).toContainEqual([r.id, "rejected"]);
    await expect(t.service.approve(r.id, MOD)).rejects.toThrow(/pending/);
    expect(t.started).toHaveLength(0);
  });

  it("approve is for moderators", async () => {
    const t = setup();
    const r = await t.submit("alice");
    await expect(
      t.service.approve(r.id, { userId: "alice", guildId: GUILD, isModerator: false }),
    ).rejects.toThrow(UserFacingError);
  });

  it("cancel: the requester only, while pending or approved", async () => {
    const t = setup({ limits: { maxConcurrentJobs: 1 } });
    const r = await t.submit("alice");
    await expect(
      t.service.cancel(r.id, { userId: "bob", guildId: GUILD, isModerator: true }),
    ).rejects.toThrow(/person who made/);
    expect((await t.service.cancel(r.id, { userId: "alice", guildId: GUILD })).state).toBe("cancelled");
    await expect(t.service.cancel(r.id, { userId: "alice", guildId: GUILD })).rejects.toThrow(/no longer/);

    const running = await t.submit("alice", "Second");
    await t.service.approve(running.id, MOD);
    await expect(t.service.cancel(running.id, { userId: "alice", guildId: GUILD })).rejects.toThrow(
      /running/,
    );
  });

  it("upvotes once each, not by the requester", async () => {
    const t = setup();
    const r = await t.submit("alice");
    await expect(t.service.upvote(r.id, { userId: "alice", guildId: GUILD })).rejects.toThrow(/own/);
    expect((await t.service.upvote(r.id, { userId: "bob", guildId: GUILD })).upvoters).toEqual(["bob"]);
    await expect(t.service.upvote(r.id, { userId: "bob", guildId: GUILD })).rejects.toThrow(/already/);
    expect((await t.service.upvote(r.id, { userId: "carol", guildId: GUILD })).upvoters).toEqual([
      "bob",
      "carol",
    ]);
    expect(t.updates.at(-1)?.upvoters).toHaveLength(2);
  });

  it("fair order: three requesters, concurrency 1", async () => {
    const t = setup({ limits: { maxConcurrentJobs: 1 } });
    const a1 = await t.submit("alice", "a1");
    const a2 = await t.submit("alice", "a2");
    const a3 = await t.submit("alice", "a3");
    const b1 = await t.submit("bob", "b1");
    const c1 = await t.submit("carol", "c1");
    const c2 = await t.submit("carol", "c2");
    await t.service.upvote(c2.id, { userId: "bob", guildId: GUILD });
    // All approved while a1 holds the only slot.
    for (const r of [a1, a2, a3, b1, c1, c2]) await t.service.approve(r.id, MOD);
    const order = [t.started.at(-1)!.req.title];
    for (let i = 0; i < 5; i++) {
      t.tick(1000);
      await t.endJob(t.service, t.started.at(-1)!.job.id);
      order.push(t.started.at(-1)!.req.title);
    }
    // Bob and Carol were never served: Carol's upvoted c2 first, then Bob, then turns by who waited longest.
    expect(order.map((title) => title?.split(" ")[0])).toEqual(["a1", "c2", "b1", "a2", "c1", "a3"]);
    expect(t.started).toHaveLength(6);
  });

  it("within the concurrency limit", async () => {
    const t = setup({ limits: { maxConcurrentJobs: 2 } });
    for (const who of ["a", "b", "c"]) await t.service.approve((await t.submit(who)).id, MOD);
    expect(t.started).toHaveLength(2);
    const list = await t.service.list(GUILD);
    expect(list.map((r) => r.state).sort()).toEqual(["approved", "running", "running"]);
  });

  it("approval off: submissions go straight to the queue", async () => {
    const t = setup({ requests: { approvalRequired: false } });
    const r = await t.submit("alice", "Now");
    expect(r.state).toBe("running");
    expect(r.approverId).toBeUndefined();
    expect(t.started[0]!.req.title).toBe("Now (requested by Name alice)");
    expect(t.posted).toHaveLength(1);
  });

  it("falls back to the requests channel for the narration, and to the command's channel for the card", async () => {
    const t = setup({ channels: { narration: null, requests: null }, requests: { approvalRequired: false } });
    const r = await t.submit("alice");
    expect(r.cardChannelId).toBe("300000000000000000");
    expect(t.started[0]!.req.channelId).toBe("300000000000000000");
  });

  it("checks the input up front", async () => {
    const t = setup();
    await expect(t.submit("alice", "Empty", { text: "   " })).rejects.toThrow(/empty/);
    await expect(
      t.submit("alice", "Bad file", { text: undefined, file: { bytes: Buffer.from("x"), name: "a.pdf" } }),
    ).rejects.toThrow(/cannot be narrated/);
    await expect(t.submit("alice", "   ")).rejects.toThrow(/title/);
    expect(t.posted).toHaveLength(0);
  });

  it("keeps a .txt file as prepared bytes and hands them to the narration", async () => {
    const t = setup({ requests: { approvalRequired: false } });
    const r = await t.submit("alice", "File", {
      text: undefined,
      file: { bytes: Buffer.from("\ufeffHello from a file."), name: "my story.txt" },
    });
    expect(r.input).toMatchObject({ kind: "file", fileName: "my_story.txt" });
    const file = t.started[0]!.req.file!;
    expect(file.name).toBe("my_story.txt");
    expect(file.bytes.toString("utf8")).toBe("Hello from a file.");
  });

  it("limits open requests per member", async () => {
    const t = setup();
    for (let i = 0; i < 5; i++) await t.submit("alice", `r${i}`);
    await expect(t.submit("alice", "one too many")).rejects.toThrow(/open requests/);
  });

  it("resumes after a restart: a new service on the same store", async () => {
    const t = setup({ limits: { maxConcurrentJobs: 1 } });
    const a = await t.submit("alice");
    const b = await t.submit("bob");
    await t.service.approve(a.id, MOD);
    await t.service.approve(b.id, MOD);
    expect(t.started).toHaveLength(1);
    // An interrupted start: marked running, never got its job.
    const c = await t.submit("carol");
    await t.store.update(c.id, (cur) => cur && { ...cur, state: "running", approverId: "mod" });

    const t2 = setup({}, { kv: t.kv, guilds: t.guildKv });
    const fresh = t.make();
    // The job ended while the bot was down (the runner reports it on restart).
    await t.endJob(fresh, "job1");
    expect((await fresh.get(a.id))?.state).toBe("done");
    await fresh.resumeAll();
    const states = await Promise.all([b.id, c.id].map(async (id) => (await fresh.get(id))?.state));
    expect(states.filter((s) => s === "running")).toHaveLength(1);
    expect(states.filter((s) => s === "approved")).toHaveLength(1);
    expect(t2.posted).toHaveLength(0);
  });

  it("a crash after the job was created but before its id was stored: the job is adopted, not started twice", async () => {
    const t = setup({ limits: { maxConcurrentJobs: 1 } });
    const r = await t.submit("alice");
    await t.service.approve(r.id, MOD);
    const job = t.started[0]!.job;
    // What the crash left: the request running with no job id, and the job under its fixed id.
    t.jobs.delete(job.id);
    t.jobs.set(requestJobId(r.id), { ...job, id: requestJobId(r.id) });
    await t.store.update(r.id, (cur) => cur && { ...cur, jobId: undefined });

    const fresh = t.make();
    await fresh.resumeAll();
    expect(await fresh.get(r.id)).toMatchObject({ state: "running", jobId: requestJobId(r.id) });
    expect(t.started).toHaveLength(1);
  });

  it("a moderator of another server can do nothing with this server's request", async () => {
    const t = setup();
    const r = await t.submit("alice");
    const outsider = { ...MOD, guildId: "100000000000000999" };
    await expect(t.service.approve(r.id, outsider)).rejects.toThrow(/no narration request/);
    await expect(t.service.reject(r.id, outsider, "no")).rejects.toThrow(/no narration request/);
    await expect(t.service.upvote(r.id, { userId: "bob", guildId: outsider.guildId })).rejects.toThrow(
      /no narration request/,
    );
    await expect(t.service.cancel(r.id, { userId: "alice", guildId: outsider.guildId })).rejects.toThrow(
      /no narration request/,
    );
    await expect(t.service.find(r.id, outsider)).rejects.toThrow(/no narration request/);
    expect((await t.service.get(r.id))?.state).toBe("pending");
  });

  it("notices a job cancelled from its status message when pumping", async () => {
    const t = setup();
    const r = await t.submit("alice");
    await t.service.approve(r.id, MOD);
    t.jobs.set("job1", { ...t.jobs.get("job1")!, state: "cancelled" });
    await t.service.pump(GUILD);
    expect((await t.service.get(r.id))?.state).toBe("cancelled");
  });
});
