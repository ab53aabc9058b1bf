import { NARRATE_FORMATS, type Narration } from "../jobs/narrate.ts";
import type { JobService } from "../jobs/service.ts";
import { isFinal, type JobRecord } from "../jobs/types.ts";
import { assertMayRequest } from "../settings/access.ts";
import type { GuildSettings, GuildSettingsStore } from "../settings/settings.ts";
import type { SpeakOptions } from "../speak/speak-options.ts";
import { prepareFileInput, prepareTextInput } from "../text/narration-input.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { pickNext, type QueueCandidate } from "./fair-queue.ts";
import type { RequestStore } from "./store.ts";
import {
  isFinalRequest,
  type NarrationRequestRecord,
  type RequestCards,
  type RequestInput,
  type RequestNotice,
} from "./types.ts";

/**
 * What `/request` and the card's buttons do. Decides who may do what (the caller says whether the
 * actor is a moderator), keeps the card in step with every change, and starts approved requests as
 * narration jobs in the fair order of `pickNext`, within the guild's `limits.maxConcurrentJobs`
 * (counting the guild's running requests; other narrations of the guild are not counted).
 *
 * Rules: upvotes are once per member, and not by the requester; approve and reject are for
 * moderators (the caller decides: Manage Server or the guild's moderator role); a pending or
 * approved request may be rejected; only the requester may cancel, while it is pending or approved.
 * A member may have at most `MAX_OPEN_PER_REQUESTER` requests open.
 */

export const MAX_OPEN_PER_REQUESTER = 5;
export const MAX_TITLE_LENGTH = 100;
export const MAX_REASON_LENGTH = 1000;

export interface SubmitRequest {
  guildId: string;
  requesterId: string;
  /** Display name, for the credit in the narration's title. */
  requesterName?: string;
  /** Where the command was used: the card goes here when the guild has no requests channel. */
  channelId: string;
  title: string;
  text?: string;
  file?: { bytes: Buffer; name: string };
  options: Omit<SpeakOptions, "text">;
  uploadLimit?: number;
}

export interface RequestActor {
  userId: string;
  /** The server the action happens in: only that server's requests can be acted on. */
  guildId: string | null;
  name?: string;
  /** Manage Server, or the guild's `requests.moderatorRoleId`. */
  isModerator?: boolean;
}

export interface RequestService {
  submit(req: SubmitRequest): Promise<NarrationRequestRecord>;
  upvote(requestId: string, actor: RequestActor): Promise<NarrationRequestRecord>;
  approve(requestId: string, actor: RequestActor, reason?: string): Promise<NarrationRequestRecord>;
  reject(requestId: string, actor: RequestActor, reason?: string): Promise<NarrationRequestRecord>;
  cancel(requestId: string, actor: RequestActor): Promise<NarrationRequestRecord>;
  get(requestId: string): Promise<NarrationRequestRecord | undefined>;
  /** The request, if it belongs to the actor's server (the card buttons check this first). */
  find(requestId: string, actor: RequestActor): Promise<NarrationRequestRecord>;
  /** Open and recent requests of the guild, newest first. */
  list(guildId: string, limit?: number): Promise<NarrationRequestRecord[]>;
  /** Starts the next approved requests of the guild while it has free slots. Never throws. */
  pump(guildId: string): Promise<void>;
  /** The runner's `onChange`: a job's end is mapped onto its request. Never throws. */
  onJobChange(job: JobRecord): Promise<void>;
  /** At start-up: requests interrupted while starting go back to the queue, then every guild is pumped. */
  resumeAll(): Promise<void>;
}

export interface RequestServiceDeps {
  store: RequestStore;
  cards: RequestCards;
  narration: Pick<Narration, "start">;
  guildSettings: Pick<GuildSettingsStore, "get">;
  /** To notice jobs that ended without the runner telling (cancelled from their status message). */
  jobs?: Pick<JobService, "get">;
  logger: { warn(obj: object, msg?: string): void };
  now?: () => number;
}

type Record_ = NarrationRequestRecord;

export function createRequestService(deps: RequestServiceDeps): RequestService {
  const { store, cards, logger } = deps;
  const now = deps.now ?? Date.now;
  const pumps = new Map<string, Promise<void>>();

  /**
   * A serialised change whose `change` may refuse by throwing; a vanished record is an error, and so
   * is a record of another server than the actor's (its id alone grants nothing).
   */
  async function change(id: string, actor: RequestActor, fn: (cur: Record_) => Record_): Promise<Record_> {
    const updated = await store.update(id, (cur) => {
      if (!cur || cur.guildId !== actor.guildId) {
        throw new UserFacingError(`There is no narration request \`${id}\` in this server.`);
      }
      return fn(cur);
    });
    if (!updated) throw new UserFacingError("This request changed meanwhile; please try again.");
    return updated;
  }

  async function showCard(request: Record_): Promise<void> {
    await cards.update(request).catch((err: unknown) => {
      logger.warn({ requestId: request.id, err }, "could not update a request card");
    });
  }

  async function tell(request: Record_, notice: RequestNotice): Promise<void> {
    await cards.notify(request, notice).catch((err: unknown) => {
      logger.warn({ requestId: request.id, err }, "could not notify a requester");
    });
  }

  function assertModerator(actor: RequestActor, verb: string): void {
    if (!actor.isModerator) {
      throw new UserFacingError(`Only a moderator can ${verb} narration requests.`);
    }
  }

  function prepare(req: SubmitRequest): { input: RequestInput; chars: number } {
    if (req.file) {
      const prepared = prepareFileInput(req.file.bytes, req.file.name);
      const { fileName, contentBase64 } = prepared.input;
      if (!contentBase64) throw new UserFacingError("That file could not be read.");
      return { input: { kind: "file", fileName, contentBase64 }, chars: prepared.chars };
    }
    if (req.text !== undefined) {
      const prepared = prepareTextInput(req.text);
      return { input: { kind: "text", text: prepared.input.text }, chars: prepared.chars };
    }
    throw new UserFacingError("Give a text or attach a .txt or .zip file for your request.");
  }

  async function pumpNow(guildId: string): Promise<void> {
    const settings = await deps.guildSettings.get(guildId);
    let open = await store.listOpen(guildId);
    if (deps.jobs) {
      // Jobs cancelled from their own status message end without the runner's onChange.
      for (const r of open) {
        if (r.state !== "running" || !r.jobId) continue;
        const job = await deps.jobs.get(r.jobId);
        if (job && isFinal(job.state)) await finish(r, job);
      }
      open = await store.listOpen(guildId);
    }
    const running = open.filter((r) => r.state === "running");
    const slots = settings.limits.maxConcurrentJobs - running.length;
    if (slots <= 0) return;
    const waiting: QueueCandidate[] = open
      .filter((r) => r.state === "approved")
      .map((r) => ({
        id: r.id,
        requesterId: r.requesterId,
        upvotes: r.upvoters.length,
        createdAt: r.createdAt,
      }));
    if (waiting.length === 0) return;
    const runningBy = new Map<string, number>();
    for (const r of running) runningBy.set(r.requesterId, (runningBy.get(r.requesterId) ?? 0) + 1);
    const lastStartedAt = new Map<string, number>();
    for (const r of await store.list(guildId, 100)) {
      if (r.startedAt !== undefined && r.startedAt > (lastStartedAt.get(r.requesterId) ?? -1)) {
        lastStartedAt.set(r.requesterId, r.startedAt);
      }
    }
    for (const next of pickNext({ waiting, running: runningBy, lastStartedAt, slots })) {
      await startOne(next.id, settings);
    }
  }

  async function startOne(id: string, settings: GuildSettings): Promise<void> {
    const channelId = settings.channels.narration ?? settings.channels.requests;
    // Marked running before the job exists: a crash in between is found by resumeAll (no jobId).
    const claimed = await store.update(id, (cur) =>
      cur?.state === "approved"
        ? {
            ...cur,
            state: "running",
            startedAt: now(),
            narrationChannelId: channelId ?? cur.cardChannelId,
          }
        : undefined,
    );
    if (!claimed) return;
    let job: JobRecord;
    try {
      if (!claimed.narrationChannelId) throw new UserFacingError("No channel is set for narrations.");
      const input = claimed.input;
      if (input.kind === "dropped") throw new UserFacingError("The request's text is no longer kept.");
      job = await deps.narration.start({
        kind: "request",
        // Started deterministically: a crash and a second start find the same job, not a new one.
        jobId: requestJobId(claimed.id),
        actor: { userId: claimed.requesterId, guildId: claimed.guildId, roleIds: [], isManager: false },
        channelId: claimed.narrationChannelId,
        title: creditTitle(claimed),
        ...(input.kind === "text"
          ? { text: input.text }
          : { file: { bytes: Buffer.from(input.contentBase64, "base64"), name: input.fileName } }),
        options: claimed.options,
        uploadLimit: claimed.uploadLimit,
      });
    } catch (err) {
      const message = err instanceof UserFacingError ? err.message : "The narration could not be started.";
      if (!(err instanceof UserFacingError)) logger.warn({ requestId: id, err }, "could not start a request");
      const failed = await store.update(id, (cur) =>
        cur?.state === "running" && !cur.jobId
          ? { ...cur, state: "failed", error: message.slice(0, 1000), finishedAt: now() }
          : undefined,
      );
      if (failed) {
        await showCard(failed);
        await tell(failed, "failed");
      }
      return;
    }
    const started = await store.update(id, (cur) => (cur ? { ...cur, jobId: job.id } : undefined));
    if (started) {
      await showCard(started);
      // A job that ended while its id was being stored.
      if (isFinal(job.state)) await finish(started, job);
    }
  }

  /** Maps a final job onto its running request; true when the request changed. */
  async function finish(request: Record_, job: JobRecord): Promise<boolean> {
    const state = job.state === "done" ? "done" : job.state === "cancelled" ? "cancelled" : "failed";
    const ended = await store.update(request.id, (cur) =>
      cur?.state === "running" && cur.jobId === job.id
        ? {
            ...cur,
            state,
            finishedAt: job.finishedAt ?? now(),
            resultMessageId: job.resultMessageIds?.[0],
            narrationChannelId: job.channelId,
            error:
              state === "failed"
                ? (job.lastError?.message ?? `The narration ${job.state}.`).slice(0, 1000)
                : undefined,
          }
        : undefined,
    );
    if (!ended) return false;
    await showCard(ended);
    if (state !== "cancelled") await tell(ended, state);
    return true;
  }

  function pump(guildId: string): Promise<void> {
    const previous = pumps.get(guildId) ?? Promise.resolve();
    const run = previous
      .then(() => pumpNow(guildId))
      .catch((err: unknown) => logger.warn({ guildId, err }, "could not start narration requests"));
    pumps.set(guildId, run);
    void run.then(() => {
      if (pumps.get(guildId) === run) pumps.delete(guildId);
    });
    return run;
  }

  return {
    async submit(req) {
      const title = req.title.trim();
      if (title === "") throw new UserFacingError("Give your request a title.");
      if (title.length > MAX_TITLE_LENGTH) {
        throw new UserFacingError(`The title is too long (at most ${MAX_TITLE_LENGTH} characters).`);
      }
      const format = req.options.format ?? "mp3";
      if (!(NARRATE_FORMATS as readonly string[]).includes(format)) {
        throw new UserFacingError("Narrations come as mp3 or flac. Please pick one of those formats.");
      }
      const { input, chars } = prepare(req);
      const settings = await deps.guildSettings.get(req.guildId);
      assertMayRequest(settings, { roleIds: [], isManager: false }, { command: "narrate", chars });
      const mine = (await store.listOpen(req.guildId)).filter((r) => r.requesterId === req.requesterId);
      if (mine.length >= MAX_OPEN_PER_REQUESTER) {
        throw new UserFacingError(
          `You already have ${mine.length} open requests; wait for some to finish or cancel one.`,
        );
      }
      const t = now();
      let request = await store.put({
        id: store.newId(),
        guildId: req.guildId,
        requesterId: req.requesterId,
        requesterName: req.requesterName,
        title,
        input,
        chars,
        options: req.options,
        uploadLimit: req.uploadLimit,
        state: settings.requests.approvalRequired ? "pending" : "approved",
        upvoters: [],
        cardChannelId: settings.channels.requests ?? req.channelId,
        createdAt: t,
        updatedAt: t,
        approvedAt: settings.requests.approvalRequired ? undefined : t,
      });
      try {
        const cardMessageId = await cards.post(request);
        request = (await store.update(request.id, (cur) => cur && { ...cur, cardMessageId })) ?? request;
      } catch (err) {
        logger.warn({ requestId: request.id, err }, "could not post a request card");
        await store.update(request.id, (cur) =>
          cur && !isFinalRequest(cur.state)
            ? { ...cur, state: "cancelled", error: "The card could not be posted.", finishedAt: now() }
            : undefined,
        );
        throw new UserFacingError(
          `I could not post the request in <#${request.cardChannelId}>. ` +
            "Ask a server admin to let me view and send messages there.",
        );
      }
      if (request.state === "approved") {
        await pump(request.guildId);
        return (await store.get(request.id)) ?? request;
      }
      return request;
    },

    async upvote(requestId, actor) {
      const userId = actor.userId;
      const updated = await change(requestId, actor, (cur) => {
        if (cur.state !== "pending" && cur.state !== "approved") {
          throw new UserFacingError(`This request can no longer be upvoted (it is ${cur.state}).`);
        }
        if (cur.requesterId === userId) throw new UserFacingError("You cannot upvote your own request.");
        if (cur.upvoters.includes(userId)) throw new UserFacingError("You already upvoted this request.");
        return { ...cur, upvoters: [...cur.upvoters, userId] };
      });
      await showCard(updated);
      return updated;
    },

    async approve(requestId, actor, reason) {
      assertModerator(actor, "approve");
      const updated = await change(requestId, actor, (cur) => {
        if (cur.state !== "pending") {
          throw new UserFacingError(`Only a pending request can be approved (this one is ${cur.state}).`);
        }
        return {
          ...cur,
          state: "approved",
          approverId: actor.userId,
          approverName: actor.name,
          reason: cleanReason(reason),
          approvedAt: now(),
        };
      });
      await showCard(updated);
      await tell(updated, "approved");
      await pump(updated.guildId);
      return (await store.get(requestId)) ?? updated;
    },

    async reject(requestId, actor, reason) {
      assertModerator(actor, "reject");
      const updated = await change(requestId, actor, (cur) => {
        if (cur.state !== "pending" && cur.state !== "approved") {
          throw new UserFacingError(`This request can no longer be rejected (it is ${cur.state}).`);
        }
        return {
          ...cur,
          state: "rejected",
          rejecterId: actor.userId,
          reason: cleanReason(reason),
          finishedAt: now(),
        };
      });
      await showCard(updated);
      await tell(updated, "rejected");
      return updated;
    },

    async cancel(requestId, actor) {
      const updated = await change(requestId, actor, (cur) => {
        if (cur.requesterId !== actor.userId) {
          throw new UserFacingError("Only the person who made this request can cancel it.");
        }
        if (cur.state !== "pending" && cur.state !== "approved") {
          throw new UserFacingError(`This request can no longer be cancelled (it is ${cur.state}).`);
        }
        return { ...cur, state: "cancelled", finishedAt: now() };
      });
      await showCard(updated);
      return updated;
    },

    get: (requestId) => store.get(requestId),
    async find(requestId, actor) {
      const request = await store.get(requestId);
      if (!request || request.guildId !== actor.guildId) {
        throw new UserFacingError(`There is no narration request \`${requestId}\` in this server.`);
      }
      return request;
    },
    list: (guildId, limit) => store.list(guildId, limit),
    pump,

    async onJobChange(job) {
      try {
        if (!isFinal(job.state)) return;
        const request = await store.byJobId(job.id);
        if (!request) return;
        await finish(request, job);
        await pump(request.guildId);
      } catch (err) {
        logger.warn({ jobId: job.id, err }, "could not update a request from its job");
      }
    },

    async resumeAll() {
      for (const guildId of await store.guildsWithOpen()) {
        try {
          for (const r of await store.listOpen(guildId)) {
            if (r.state !== "running" || r.jobId) continue;
            // Interrupted between "running" and storing the job's id: the job may exist (its id is
            // the request's), and then it is adopted; otherwise the request goes back in the queue.
            const job = await deps.jobs?.get(requestJobId(r.id));
            const resumed = await store.update(r.id, (cur) =>
              cur?.state === "running" && !cur.jobId
                ? job
                  ? { ...cur, jobId: job.id }
                  : { ...cur, state: "approved", startedAt: undefined }
                : undefined,
            );
            if (resumed && job && isFinal(job.state)) await finish(resumed, job);
          }
          await pump(guildId);
        } catch (err) {
          logger.warn({ guildId, err }, "could not resume narration requests");
        }
      }
    },
  };
}

/** A request's narration job id: fixed, so that starting it twice (after a crash) starts one job. */
export function requestJobId(requestId: string): string {
  return `rq${requestId}`;
}

/** The narration's title: the request's, crediting requester and approver by name. */
export function creditTitle(request: NarrationRequestRecord): string {
  const by = request.requesterName ? `requested by ${request.requesterName}` : "a community request";
  const approved = request.approverId ? `, approved by ${request.approverName ?? "a moderator"}` : "";
  return `${request.title} (${by}${approved})`;
}

function cleanReason(reason: string | undefined): string | undefined {
  const trimmed = reason?.trim();
  return trimmed ? trimmed.slice(0, MAX_REASON_LENGTH) : undefined;
}
