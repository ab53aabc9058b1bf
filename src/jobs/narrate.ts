import type { Actor, RequestPlanner } from "../speak/planner.ts";
import type { SpeakOptions } from "../speak/speak-options.ts";
import { type Script, storyScriptOf } from "../text/script.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { JobActor, JobService } from "./service.ts";
import type { JobRecord } from "./types.ts";

/**
 * Starting a narration, whatever the way in (`/narrate` text, file or modal, a long `/speak`, an
 * approved `/request`), and starting a failed one again: the request planner decides and reserves
 * the characters, then a queued job holds the reservation until it ends.
 */

export const NARRATE_FORMATS = ["mp3", "flac"] as const;

export interface NarrationRequest {
  actor: Actor;
  /** How the narration was asked for (access rules differ a little, see the planner). */
  kind?: "narrate" | "long-speak" | "request";
  /** A deterministic job id (a request's): starting it twice returns the first job. */
  jobId?: string;
  channelId: string;
  title?: string;
  text?: string;
  file?: { bytes: Buffer; name: string };
  options: Omit<SpeakOptions, "text">;
  uploadLimit?: number;
  /**
   * A multi-voice story's speakers and voices (`Narrator=Wise_Woman, Alice=Calm_Woman`). With it, or
   * with `@voices` lines at the top of the text, the text is a script (see src/text/script.ts).
   */
  voices?: string;
}

export interface NarrationDeps {
  jobs: JobService;
  planner: Pick<RequestPlanner, "narration" | "retry">;
  /**
   * Whether the member may speak with this voice (the provider's voices, and their designed ones): a
   * story naming an unknown one is refused before anything is spent.
   */
  knownVoice?: (voice: string, actor: Actor) => Promise<boolean>;
}

export interface Narration {
  start(req: NarrationRequest): Promise<JobRecord>;
  /**
   * Refuses a multi-voice story that could not start (a script that does not parse, flac, a voice the
   * member may not use) with the reason; does nothing for a plain text. For checks made ahead of
   * `start`, such as a community request at submission.
   */
  checkStory(req: Pick<NarrationRequest, "actor" | "text" | "file" | "options" | "voices">): Promise<void>;
  /** Retry of a failed or expired job: the requester or a moderator of its server, with a new reservation. */
  retry(jobId: string, actor: Actor & JobActor): Promise<JobRecord>;
}

const RETRYABLE = new Set(["failed", "expired"]);

export function createNarration(deps: NarrationDeps): Narration {
  const { jobs, planner } = deps;
  return {
    async checkStory(req) {
      await storyOf(req, deps);
    },
    async start(req) {
      const format = req.options.format ?? "mp3";
      if (!(NARRATE_FORMATS as readonly string[]).includes(format)) {
        throw new UserFacingError("Long narrations come as mp3 or flac. Please pick one of those formats.");
      }
      if (req.jobId !== undefined) {
        const existing = await jobs.get(req.jobId);
        if (existing) return existing;
      }
      const story = await storyOf(req, deps);
      const jobId = req.jobId ?? jobs.newId();
      return planner.narration(
        {
          kind: req.kind ?? "narrate",
          actor: req.actor,
          options: story ? { ...req.options, format: "mp3" } : req.options,
          source: story ? { story } : { text: req.text, file: req.file },
          jobId,
        },
        (planned) =>
          jobs.create({
            id: jobId,
            reservation: planned.reservation,
            requesterId: req.actor.userId,
            guildId: planned.reservation.guildId,
            channelId: req.channelId,
            title: req.title?.trim() || undefined,
            input: planned.input,
            settings: planned.settings,
            chars: planned.chars,
            uploadLimit: req.uploadLimit,
            ...(planned.story ? { story: planned.story } : {}),
          }),
      );
    },

    async retry(jobId, actor) {
      const job = await jobs.show(jobId, actor);
      if (!RETRYABLE.has(job.state)) {
        throw new UserFacingError(
          `Only a failed or expired narration can be retried (this one is ${job.state}).`,
        );
      }
      const reservation = await planner.retry({ actor, job, attempt: job.retries + 1 });
      return jobs.retry(jobId, actor, reservation);
    },
  };
}

/**
 * The script of a multi-voice story, when the request is one: a `voices` mapping, or a text (or `.txt`
 * file) that declares its voices. Checked here, before anything is reserved: the script parses, comes
 * as mp3 (its parts are joined frame by frame), and names only voices the provider has.
 */
async function storyOf(
  req: Pick<NarrationRequest, "actor" | "text" | "file" | "options" | "voices">,
  deps: NarrationDeps,
): Promise<Script | undefined> {
  const script = storyScriptOf(req);
  if (!script) return undefined;
  if (req.options.format === "flac") {
    throw new UserFacingError("Multi-voice stories come as mp3. Leave out the format, or pick mp3.");
  }
  const knownVoice = deps.knownVoice;
  if (knownVoice) {
    const voices = [...new Set(script.runs.map((r) => r.voiceId))];
    const known = await Promise.all(voices.map((v) => knownVoice(v, req.actor)));
    const unknown = voices.filter((_, i) => !known[i]);
    if (unknown.length > 0) {
      const who = script.speakers
        .filter((s) => unknown.includes(s.voiceId))
        .map((s) => `${s.name} (\`${s.voiceId}\`)`)
        .join(", ");
      throw new UserFacingError(
        `I do not know the voice${unknown.length === 1 ? "" : "s"} of ${who}. Browse the voices with /voices.`,
      );
    }
  }
  return script;
}
