import { assertMayRequest } from "../guilds/access.ts";
import type { GuildSettingsStore } from "../guilds/settings.ts";
import { resolveSettings, type SpeakOptions, type VoiceDefaults } from "../tts/speak-options.ts";
import type { UserSettingsStore } from "../tts/user-settings.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { prepareFileInput, prepareTextInput } from "./input.ts";
import type { JobService } from "./service.ts";
import type { JobRecord } from "./types.ts";

/**
 * Starting a narration, whatever the way in (`/narrate` text, file or modal, or a long `/speak`):
 * settings from options and saved defaults, a checked input, then a queued job.
 */

export const NARRATE_FORMATS = ["mp3", "flac"] as const;

export interface NarrationRequest {
  requesterId: string;
  guildId: string | null;
  channelId: string;
  title?: string;
  text?: string;
  file?: { bytes: Buffer; name: string };
  options: Omit<SpeakOptions, "text">;
  uploadLimit?: number;
}

export interface NarrationDeps {
  jobs: JobService;
  users: UserSettingsStore;
  guildDefaults?: (guildId: string) => Promise<VoiceDefaults | undefined>;
  /** Server limits (characters per request). */
  guildSettings?: Pick<GuildSettingsStore, "get">;
  guildPronunciation?: (guildId: string) => Promise<string[] | undefined>;
  /** Checked before the job is created (its usage is recorded when it is done). */
  budget?: { check(guildId: string, userId: string, chars: number): Promise<void> };
  config: { model: string; voice: string };
}

export interface Narration {
  start(req: NarrationRequest): Promise<JobRecord>;
}

export function createNarration(deps: NarrationDeps): Narration {
  return { start: (req) => startNarration(deps, req) };
}

async function startNarration(deps: NarrationDeps, req: NarrationRequest): Promise<JobRecord> {
  const format = req.options.format ?? "mp3";
  if (!(NARRATE_FORMATS as readonly string[]).includes(format)) {
    throw new UserFacingError("Long narrations come as mp3 or flac. Please pick one of those formats.");
  }
  const user = await deps.users.get(req.requesterId);
  const guild = req.guildId && deps.guildDefaults ? await deps.guildDefaults(req.guildId) : undefined;
  const settings = resolveSettings({ options: req.options, user: user.defaults, guild, config: deps.config });
  const tone =
    req.guildId && deps.guildPronunciation ? await deps.guildPronunciation(req.guildId) : undefined;
  if (tone && tone.length > 0) settings.pronunciation = tone;
  let prepared: { input: JobRecord["input"]; chars: number };
  if (req.file) prepared = prepareFileInput(req.file.bytes, req.file.name);
  else if (req.text !== undefined) prepared = prepareTextInput(req.text);
  else throw new UserFacingError("Give a text or attach a .txt or .zip file to narrate.");
  if (req.guildId && deps.guildSettings) {
    const guildSettings = await deps.guildSettings.get(req.guildId);
    assertMayRequest(
      guildSettings,
      { roleIds: [], isManager: false },
      { command: "narrate", chars: prepared.chars },
    );
  }
  return deps.jobs.create({
    requesterId: req.requesterId,
    guildId: req.guildId,
    channelId: req.channelId,
    title: req.title?.trim() || undefined,
    input: prepared.input,
    settings,
    chars: prepared.chars,
    uploadLimit: req.uploadLimit,
  });
}
