import { randomUUID } from "node:crypto";
import { assertMayRequest } from "../settings/access.ts";
import { effectiveDefaults, type GuildSettings, type GuildSettingsStore } from "../settings/settings.ts";
import type { UsageLedger } from "../settings/usage.ts";
import type { UserSettingsStore } from "../settings/user-settings.ts";
import type { SpeechSettingsInput } from "../speech/types.ts";
import { createKeyedSerialQueue } from "../storage/record-kit.ts";
import { relativeTime } from "../text/markup.ts";
import type { JobInput } from "../text/narration-input.ts";
import { prepareFileInput, prepareTextInput } from "../text/narration-input.ts";
import { formatScript, type Script } from "../text/script.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { UserGuards } from "./guards.ts";
import { planSpeech, resolveSettings, type SpeakOptions, type SpeakPlan } from "./speak-options.ts";

/**
 * The request planner: the one place a request that spends characters is decided. Whatever the way
 * in (`/speak`, a long `/speak`, `/narrate`, an approved `/request`, Retry, a voice clip, Read aloud,
 * auto-read), it resolves the member's and the server's defaults and the pronunciation dictionary,
 * checks access (servers only, the /speak switch and role, the per-request limit, cooldowns, open
 * narrations) and reserves the characters atomically in the budget ledger. Callers get back a
 * `Reservation` that they settle to what the provider billed, or release when nothing was billed.
 *
 * Because the steps live here once, a new way in cannot forget the budget: it has nothing else to call.
 */

export type SpendKind =
  | "speak"
  | "voice"
  | "read-aloud"
  | "auto-read"
  | "narrate"
  | "long-speak"
  | "request"
  | "retry"
  | "preview"
  | "design";

/**
 * The ledger account voice previews are held in: a bot-wide account of its own, so previews are
 * counted (and settled, and reconciled after a crash) like any paid call, but fill no member's or
 * server's budget.
 */
export const PREVIEW_ACCOUNT = "bot:voice-previews";

/** Who is asking, as Discord told us at the moment of the action. */
export interface Actor {
  userId: string;
  /**
   * The server the action happens in; null outside servers that installed the bot (DMs, group DMs,
   * a server using the member's own install): there `/speak` and Read aloud spend the member's own
   * budget (see `PersonalSpeech`), and everything else is refused.
   */
  guildId: string | null;
  roleIds: readonly string[];
  /** Manage Server there: exempt from the /speak switch and role. */
  isManager: boolean;
}

/** Characters held in the ledger for one request. Both calls are idempotent and never throw. */
export interface Reservation {
  readonly holdId: string;
  readonly guildId: string;
  readonly userId: string;
  readonly chars: number;
  /** Bills `actual` characters (the provider's `usage_characters`, or the reserved amount). */
  settle(actual?: number): Promise<void>;
  /** Nothing was billed: the characters go back. */
  release(): Promise<void>;
}

export interface SpeechPlanned {
  plan: SpeakPlan;
  chars: number;
  guildId: string;
  /** Frees the member's cooldown slot (the request is over). Idempotent. */
  done(): void;
  /** Reserves the characters; call only when the provider will be asked (a cache hit costs nothing). */
  reserve(): Promise<Reservation>;
}

export interface NarrationPlanned {
  settings: SpeechSettingsInput;
  input: JobInput;
  chars: number;
  reservation: Reservation;
  /** A multi-voice story: its runs in order, each with its voice and characters (they sum to `chars`). */
  story?: { runs: { speaker: string; voiceId: string; chars: number }[] };
}

export interface NarrationSource {
  text?: string;
  file?: { bytes: Buffer; name: string };
  /** A parsed multi-voice script: the whole of it is reserved at once, and stored in canonical form. */
  story?: Script;
}

/** What the planner needs to know about a member's narrations. */
export type OpenJobsLookup = (
  guildId: string,
  userId: string,
) => Promise<{ open: number; lastCreatedAt: number | undefined }>;

/**
 * Speech outside servers: each member's own daily characters (0: speech there is off) and a cooldown of
 * its own. Counted in the same atomic budget store as servers, under the `PERSONAL_SCOPE` pseudo-server,
 * keyed by the member.
 */
export interface PersonalSpeech {
  dailyChars: number;
  /** Created with the DM cooldown, a burst of one and one request at a time. */
  guards: UserGuards;
}

/** The budget store's "server" for speech outside servers (a snowflake can never collide with it). */
export const PERSONAL_SCOPE = "dm";

export interface PlannerDeps {
  users: Pick<UserSettingsStore, "get">;
  guildSettings: Pick<GuildSettingsStore, "get">;
  guildPronunciation: (guildId: string) => Promise<string[] | undefined>;
  ledger: Pick<UsageLedger, "reserve" | "settle" | "release">;
  /** The per-member cooldown of synchronous requests (in memory: about the next few seconds). */
  guards: UserGuards;
  openJobs: OpenJobsLookup;
  /** Without it, speech outside servers is refused as before. */
  personal?: PersonalSpeech;
  config: { model: string; voice: string; syncMaxChars: number };
  logger: { warn(obj: object, msg?: string): void };
  now?: () => number;
  /**
   * The voice a request may use (designed voices: a name becomes the id; an id must be the member's
   * or shared in this server, else a UserFacingError). Absent: voices are used as given.
   */
  resolveVoice?: (voice: string, actor: Actor) => Promise<string>;
}

export interface RequestPlanner {
  speech(input: {
    kind: "speak" | "voice" | "read-aloud" | "auto-read";
    actor: Actor;
    options: SpeakOptions;
  }): Promise<SpeechPlanned>;
  /**
   * Decides a narration and reserves its characters, then runs `create` (which stores the job) before
   * the member's next narration is decided, so that one sees this one among the open jobs. When
   * `create` fails the reservation is released.
   */
  narration<R>(
    input: {
      kind: "narrate" | "long-speak" | "request";
      actor: Actor;
      options: Omit<SpeakOptions, "text">;
      source: NarrationSource;
      /** The job the characters are for (its id is the hold's). */
      jobId: string;
    },
    create: (planned: NarrationPlanned) => Promise<R>,
  ): Promise<R>;
  /** A failed job started again: same settings, a new hold (`attempt` makes it unique). */
  retry(input: {
    actor: Actor;
    job: { id: string; guildId: string | null; requesterId: string; chars: number };
    attempt: number;
  }): Promise<Reservation>;
  /**
   * A voice preview's synthesis: held in PREVIEW_ACCOUNT under the member's id, with no budget limit
   * (previews are rate-limited instead), so it is accounted without spending anyone's budget.
   */
  preview(input: { actor: Actor; holdId: string; chars: number }): Promise<Reservation>;
  /**
   * Designing a voice (the provider bills the preview text): the /speak switch, role and per-request
   * limit apply, and the characters are reserved against the member's and the server's budgets.
   */
  design(input: { actor: Actor; holdId: string; chars: number }): Promise<Reservation>;
}

export const GUILD_ONLY_MESSAGE =
  "Speech works in servers only, where the server's budgets apply. Use this command in a server.";

export const PERSONAL_OFF_MESSAGE =
  "Speech outside servers is turned off for this bot. Use /speak in a server that has added me.";

/** A narration posts its result in a channel when it is ready: only a server that has the bot allows that. */
export const NARRATION_GUILD_ONLY_MESSAGE =
  "Narrations are posted in a channel when they are ready, so they run only in servers that have added me. " +
  "Start it there with /narrate.";

/**
 * A story's runs, each checked as a narration text of its own (length, pause markers), and the script
 * in canonical form as the job's input: the runs' texts are found again from it.
 */
function prepareStory(script: Script): { input: JobInput; chars: number; story: NarrationPlanned["story"] } {
  const runs = script.runs.map((run) => ({
    speaker: run.speaker,
    voiceId: run.voiceId,
    chars: prepareTextInput(run.text).chars,
  }));
  return {
    input: { kind: "text", text: formatScript(script) },
    chars: runs.reduce((n, r) => n + r.chars, 0),
    story: { runs },
  };
}

/** The hold id of a job's characters; retries get their own. */
export function jobHoldId(jobId: string, attempt = 0): string {
  return attempt === 0 ? `job:${jobId}` : `job:${jobId}:r${attempt}`;
}

export function createRequestPlanner(deps: PlannerDeps): RequestPlanner {
  const now = deps.now ?? Date.now;
  /** One narration decision at a time per member, so two at once cannot both pass the caps. */
  const serially = createKeyedSerialQueue();

  function guildOf(actor: Actor, message = GUILD_ONLY_MESSAGE): string {
    if (!actor.guildId) throw new UserFacingError(message);
    return actor.guildId;
  }

  /**
   * `/speak` and Read aloud outside servers: the member's saved defaults only (no server settings nor
   * dictionary), up to the synchronous limit (a narration job could not post its result there), the
   * DM cooldown, and the member's own daily budget.
   */
  async function personalSpeech(
    kind: "speak" | "voice" | "read-aloud" | "auto-read",
    actor: Actor,
    options: SpeakOptions,
  ): Promise<SpeechPlanned> {
    const personal = deps.personal;
    if (!personal || (kind !== "speak" && kind !== "read-aloud"))
      throw new UserFacingError(GUILD_ONLY_MESSAGE);
    if (personal.dailyChars <= 0) throw new UserFacingError(PERSONAL_OFF_MESSAGE);
    const user = await deps.users.get(actor.userId);
    const plan = planSpeech({ options, user: user.defaults, config: deps.config });
    // Designed voices belong to a server: refused here, whatever the saved default says.
    if (deps.resolveVoice) plan.request.voiceId = await deps.resolveVoice(plan.request.voiceId, actor);
    const chars = [...plan.request.text].length;
    if (chars > deps.config.syncMaxChars) {
      throw new UserFacingError(
        `That text has ${chars} characters; outside servers I speak at most ${deps.config.syncMaxChars} at once. ` +
          "Shorten it, or use /narrate in a server that has added me for long texts.",
      );
    }
    const done = await personal.guards.acquire(actor.userId);
    let reserved = false;
    return {
      plan,
      chars,
      guildId: PERSONAL_SCOPE,
      done,
      async reserve() {
        if (reserved) throw new Error("a speech plan is reserved once");
        reserved = true;
        const hold = await deps.ledger.reserve({
          holdId: `${kind}:${randomUUID()}`,
          guildId: PERSONAL_SCOPE,
          userId: actor.userId,
          chars,
          limits: { userDailyChars: personal.dailyChars },
        });
        return reservation({ id: hold.id, guildId: PERSONAL_SCOPE, userId: actor.userId, chars: hold.chars });
      },
    };
  }

  function reservation(hold: { id: string; guildId: string; userId: string; chars: number }): Reservation {
    let finished = false;
    const finish = async (what: "settle" | "release", run: () => Promise<unknown>) => {
      if (finished) return;
      finished = true;
      try {
        await run();
      } catch (err) {
        // The hold stays counted at its reserved amount; start-up reconciliation settles it.
        deps.logger.warn({ err, hold: hold.id }, `could not ${what} a character reservation`);
      }
    };
    return {
      holdId: hold.id,
      guildId: hold.guildId,
      userId: hold.userId,
      chars: hold.chars,
      settle: (actual) =>
        finish("settle", () => deps.ledger.settle(hold.id, Math.max(0, Math.round(actual ?? hold.chars)))),
      release: () => finish("release", () => deps.ledger.release(hold.id)),
    };
  }

  async function reserve(
    settings: GuildSettings,
    holdId: string,
    guildId: string,
    userId: string,
    chars: number,
  ): Promise<Reservation> {
    const hold = await deps.ledger.reserve({ holdId, guildId, userId, chars, limits: settings.limits });
    return reservation({ id: hold.id, guildId, userId, chars: hold.chars });
  }

  /**
   * The /speak switch and role apply to everything spoken on a member's behalf, long or short, except
   * narrations (their own command) and auto-read (the server's own opt-in); the per-request character
   * limit applies to everything.
   */
  function access(settings: GuildSettings, actor: Actor, kind: SpendKind, chars: number): void {
    const bySwitch =
      kind === "speak" ||
      kind === "voice" ||
      kind === "read-aloud" ||
      kind === "long-speak" ||
      kind === "design";
    const command = bySwitch ? "speak" : "narrate";
    assertMayRequest(settings, { roleIds: actor.roleIds, isManager: actor.isManager }, { command, chars });
  }

  async function checkOpenJobs(settings: GuildSettings, guildId: string, userId: string, kind: SpendKind) {
    const { open, lastCreatedAt } = await deps.openJobs(guildId, userId);
    const max = settings.limits.maxOpenJobsPerMember;
    if (open >= max) {
      throw new UserFacingError(
        `You already have ${open} unfinished narration${open === 1 ? "" : "s"} here (the limit is ${max}). ` +
          "Wait for one to finish, or cancel one with /jobs cancel.",
      );
    }
    if (kind === "retry") return;
    const cooldownMs = settings.limits.narrateCooldownSeconds * 1000;
    if (lastCreatedAt !== undefined && cooldownMs > 0) {
      const readyAt = lastCreatedAt + cooldownMs;
      if (readyAt > now()) {
        const seconds = Math.max(1, Math.ceil((readyAt - now()) / 1000));
        throw new UserFacingError(
          `Please wait ${seconds} s before starting another narration (${relativeTime(readyAt, "ceil")}).`,
        );
      }
    }
  }

  return {
    async speech({ kind, actor, options }) {
      if (!actor.guildId) return personalSpeech(kind, actor, options);
      const guildId = actor.guildId;
      const [user, settings, tone] = await Promise.all([
        deps.users.get(actor.userId),
        deps.guildSettings.get(guildId),
        deps.guildPronunciation(guildId),
      ]);
      const plan = planSpeech({
        options,
        user: user.defaults,
        guild: effectiveDefaults(settings),
        config: deps.config,
      });
      if (tone && tone.length > 0) plan.request.pronunciation = tone;
      if (deps.resolveVoice) plan.request.voiceId = await deps.resolveVoice(plan.request.voiceId, actor);
      const chars = [...plan.request.text].length;
      access(settings, actor, kind, chars);
      if (chars > deps.config.syncMaxChars && kind !== "speak") {
        throw new UserFacingError(
          `That text has ${chars} characters; voice playback takes at most ${deps.config.syncMaxChars}. Use /narrate for long texts.`,
        );
      }
      // Auto-read is paced by the chat itself; every other request takes a cooldown slot.
      const cooldown = settings.limits.userCooldownSeconds;
      const done =
        kind === "auto-read"
          ? () => {}
          : await deps.guards.acquire(actor.userId, cooldown === undefined ? undefined : cooldown * 1000);
      let reserved = false;
      return {
        plan,
        chars,
        guildId,
        done,
        async reserve() {
          if (reserved) throw new Error("a speech plan is reserved once");
          reserved = true;
          return reserve(settings, `${kind}:${randomUUID()}`, guildId, actor.userId, chars);
        },
      };
    },

    async narration({ kind, actor, options, source, jobId }, create) {
      const guildId = guildOf(actor, NARRATION_GUILD_ONLY_MESSAGE);
      return serially(`${guildId}:${actor.userId}`, async () => {
        const [user, settings, tone] = await Promise.all([
          deps.users.get(actor.userId),
          deps.guildSettings.get(guildId),
          deps.guildPronunciation(guildId),
        ]);
        const resolved = resolveSettings({
          options,
          user: user.defaults,
          guild: effectiveDefaults(settings),
          config: deps.config,
        });
        if (tone && tone.length > 0) resolved.pronunciation = tone;
        if (deps.resolveVoice) resolved.voiceId = await deps.resolveVoice(resolved.voiceId, actor);
        let prepared: { input: JobInput; chars: number; story?: NarrationPlanned["story"] };
        if (source.story) {
          prepared = prepareStory(source.story);
          // A speaker may be given a designed voice by name, as in any request.
          const resolve = deps.resolveVoice;
          if (resolve) {
            for (const run of prepared.story?.runs ?? []) run.voiceId = await resolve(run.voiceId, actor);
          }
        } else if (source.file) prepared = prepareFileInput(source.file.bytes, source.file.name);
        else if (source.text !== undefined) prepared = prepareTextInput(source.text);
        else throw new UserFacingError("Give a text or attach a .txt or .zip file to narrate.");
        access(settings, actor, kind, prepared.chars);
        // A moderator-approved request waits in the server's fair queue instead.
        if (kind !== "request") await checkOpenJobs(settings, guildId, actor.userId, kind);
        const held = await reserve(settings, jobHoldId(jobId), guildId, actor.userId, prepared.chars);
        return create({
          settings: resolved,
          input: prepared.input,
          chars: prepared.chars,
          reservation: held,
          ...(prepared.story ? { story: prepared.story } : {}),
        });
      });
    },

    async retry({ actor, job, attempt }) {
      const guildId = guildOf(actor);
      if (guildId !== job.guildId) {
        throw new UserFacingError("Retry this narration in the server where it was started.");
      }
      // The narration is the requester's, so its characters are too, whoever pressed Retry.
      return serially(`${guildId}:${job.requesterId}`, async () => {
        const settings = await deps.guildSettings.get(guildId);
        // The server's limits as they are now, not as they were when the job started.
        access(settings, actor, "retry", job.chars);
        await checkOpenJobs(settings, guildId, job.requesterId, "retry");
        return reserve(settings, jobHoldId(job.id, attempt), guildId, job.requesterId, job.chars);
      });
    },

    async preview({ actor, holdId, chars }) {
      const hold = await deps.ledger.reserve({
        holdId,
        guildId: PREVIEW_ACCOUNT,
        userId: actor.userId,
        chars,
        limits: {},
      });
      return reservation({ id: hold.id, guildId: PREVIEW_ACCOUNT, userId: actor.userId, chars: hold.chars });
    },

    async design({ actor, holdId, chars }) {
      const guildId = guildOf(actor);
      const settings = await deps.guildSettings.get(guildId);
      access(settings, actor, "design", chars);
      return reserve(settings, holdId, guildId, actor.userId, chars);
    },
  };
}
