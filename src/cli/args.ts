import { extname } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import {
  AUDIO_FORMATS,
  type AudioFormat,
  AudioFormatSchema,
  EmotionSchema,
  LANGUAGE_BOOSTS,
  LanguageBoostSchema,
  SOUND_EFFECTS,
  SoundEffectSchema,
} from "../speech/models.ts";
import { PITCH_RANGE, rangeText, SPEED_RANGE, VOLUME_RANGE } from "../speech/ranges.ts";
import { type SpeechSettings, SpeechSettingsSchema } from "../speech/types.ts";

/** Where the audio goes without --out: this folder under the one the command was typed in. */
export const DEFAULT_OUT_DIR = "out";

export const USAGE = `Usage: npm run speak -- --text "Hello there" [--out hello.mp3] [options]
       npm run speak -- --list-voices

Input (one of):
  --text TEXT          the text to speak
  --file PATH          read the text from a UTF-8 .txt file (with --async it is uploaded as a file)

Output:
  --out PATH           the audio file to write; its folder must exist. The extension must match the
                       format (.mp3, .wav, .flac, .pcm); without --format it chooses the format.
                       Default: ${DEFAULT_OUT_DIR}/speech-<date>-<time>.<format> under the folder you run
                       the command in (the folder is created). --async also writes the .srt beside it.

Voice and audio:
  --voice ID           voice id (default: TTS_DEFAULT_VOICE); see --list-voices
  --model M            model (default: TTS_MODEL)
  --speed S            ${rangeText(SPEED_RANGE)}
  --pitch P            whole semitones, ${rangeText(PITCH_RANGE)}
  --volume V           above 0, up to ${VOLUME_RANGE.max}
  --emotion E          ${EmotionSchema.options.join(", ")}
  --language L         language boost: ${LANGUAGE_BOOSTS.slice(0, 6).join(", ")}, … or auto
  --effect NAME        ${SOUND_EFFECTS.join(", ")}
  --format F           ${AUDIO_FORMATS.join(", ")} (default: from the --out extension, else mp3)
  --sample-rate N      8000, 16000, 22050, 24000, 32000 or 44100
  --bitrate N          32000, 64000, 128000 or 256000 (mp3)
  --channels 1|2

Mode:
  --stream             stream the synthesis and write chunks as they arrive
  --async              use the long-text (async) flow; automatic above SYNC_MAX_CHARS
  --list-voices        print the voices the configured account can use, and exit
  -h, --help           show this help (needs no configuration)

Configuration comes from the environment (MINIMAX_API_KEY, TTS_PROVIDER, …; see .env.example).
The output path is checked before anything is sent, so a bad --out costs nothing.
`;

const numberFlag = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n)) {
        ctx.addIssue({ code: "custom", message: `--${name} must be a number (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

const RawArgsSchema = z.object({
  text: z.string().optional(),
  file: z.string().optional(),
  out: z.string().optional(),
  voice: z.string().optional(),
  model: z.string().optional(),
  speed: numberFlag("speed"),
  pitch: numberFlag("pitch"),
  volume: numberFlag("volume"),
  emotion: z.string().optional(),
  language: z.string().optional(),
  effect: z.string().optional(),
  format: z.string().optional(),
  "sample-rate": numberFlag("sample-rate"),
  bitrate: numberFlag("bitrate"),
  channels: numberFlag("channels"),
  stream: z.boolean().optional(),
  async: z.boolean().optional(),
  "list-voices": z.boolean().optional(),
  help: z.boolean().optional(),
});

const OPTIONS = {
  text: { type: "string" },
  file: { type: "string" },
  out: { type: "string" },
  voice: { type: "string" },
  model: { type: "string" },
  speed: { type: "string" },
  pitch: { type: "string" },
  volume: { type: "string" },
  emotion: { type: "string" },
  language: { type: "string" },
  effect: { type: "string" },
  format: { type: "string" },
  "sample-rate": { type: "string" },
  bitrate: { type: "string" },
  channels: { type: "string" },
  stream: { type: "boolean" },
  async: { type: "boolean" },
  "list-voices": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The voice settings the flags give; model and voice fall back to the configuration (`speechSettings`). */
export type CliSettings = Omit<SpeechSettings, "model" | "voiceId"> & { model?: string; voiceId?: string };

export interface SpeakArgs {
  input: { kind: "text"; text: string } | { kind: "file"; path: string };
  /** As typed; undefined means the default under `DEFAULT_OUT_DIR` (see `defaultOutName`). */
  out: string | undefined;
  settings: CliSettings;
  mode: "auto" | "stream" | "async";
}

export type ParseResult =
  | { ok: true; command: "help" }
  | { ok: true; command: "list-voices" }
  | { ok: true; command: "speak"; args: SpeakArgs }
  | { ok: false; error: string };

const EXTENSIONS: Record<AudioFormat, string> = { mp3: ".mp3", wav: ".wav", flac: ".flac", pcm: ".pcm" };

/** The format a file name's extension stands for, if it is one of ours. */
export function formatOfPath(path: string): AudioFormat | undefined {
  const ext = extname(path).toLowerCase();
  return AUDIO_FORMATS.find((f) => EXTENSIONS[f] === ext);
}

export function extensionOf(format: AudioFormat): string {
  return EXTENSIONS[format];
}

/** `speech-20250102-030405.mp3`, from the local time: sorts by time and needs no quoting anywhere. */
export function defaultOutName(format: AudioFormat, now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const date = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}`;
  const time = `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `speech-${date}-${time}${EXTENSIONS[format]}`;
}

/** The request settings: the flags, with model and voice from the configuration unless given. */
export function speechSettings(args: SpeakArgs, defaults: { model: string; voice: string }): SpeechSettings {
  return {
    ...args.settings,
    model: args.settings.model ?? defaults.model,
    voiceId: args.settings.voiceId ?? defaults.voice,
  };
}

/**
 * Turns argv into a validated request without reading any configuration, so `--help` and flag
 * mistakes need none. Every problem comes back in one line (several are joined with "; ").
 */
export function parseSpeakArgs(argv: string[]): ParseResult {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeNumbers(argv),
      strict: true,
      allowPositionals: false,
      options: OPTIONS,
    }));
  } catch (err) {
    // `--help` wins over a mistake elsewhere on the line: whoever typed it wants the help.
    if (argv.includes("--help") || argv.includes("-h")) return { ok: true, command: "help" };
    return { ok: false, error: describeParseError(err as Error & { code?: string }) };
  }
  const raw = RawArgsSchema.safeParse(values);
  if (!raw.success) return { ok: false, error: raw.error.issues.map((i) => i.message).join("; ") };
  const a = raw.data;
  if (a.help) return { ok: true, command: "help" };

  const problems: string[] = [];
  if (a["list-voices"]) {
    const extra = Object.keys(values).filter((k) => k !== "list-voices");
    if (extra.length > 0) return { ok: false, error: "--list-voices takes no other options" };
    return { ok: true, command: "list-voices" };
  }
  if (a.text !== undefined && a.file !== undefined) problems.push("give either --text or --file, not both");
  if (a.text === undefined && a.file === undefined) problems.push("--text or --file is required");
  if (a.text !== undefined && a.text.trim() === "") problems.push("--text is empty");
  if (a.stream && a.async) problems.push("--stream and --async cannot be combined");

  const enumProblem = <T extends string>(
    flag: string,
    value: string | undefined,
    schema: z.ZodType<T>,
    allowed: readonly string[],
  ) => {
    if (value === undefined) return undefined;
    const r = schema.safeParse(value);
    if (!r.success) {
      problems.push(
        allowed.length <= 12
          ? `--${flag} "${value}" must be one of ${allowed.join(", ")}`
          : `--${flag} "${value}" is not one of the allowed values`,
      );
      return undefined;
    }
    return r.data;
  };
  const emotion = enumProblem("emotion", a.emotion, EmotionSchema, EmotionSchema.options);
  const languageBoost = enumProblem("language", a.language, LanguageBoostSchema, LanguageBoostSchema.options);
  const soundEffect = enumProblem("effect", a.effect, SoundEffectSchema, SOUND_EFFECTS);
  const chosenFormat = enumProblem("format", a.format, AudioFormatSchema, AUDIO_FORMATS);
  const outProblem =
    a.out !== undefined ? checkOutName(a.out, chosenFormat, a.format !== undefined) : undefined;
  if (outProblem) problems.push(outProblem);
  const format = chosenFormat ?? (a.out !== undefined ? formatOfPath(a.out) : undefined) ?? "mp3";

  if (a.model !== undefined && a.model.trim() === "") problems.push("--model is empty");
  if (a.voice !== undefined && a.voice.trim() === "") problems.push("--voice is empty");
  const settings = SpeechSettingsSchema.safeParse({
    // Placeholders: the real defaults come from the configuration, read only once the flags are fine.
    model: a.model || "-",
    voiceId: a.voice || "-",
    speed: a.speed,
    pitch: a.pitch,
    volume: a.volume,
    emotion,
    languageBoost,
    soundEffect,
    format,
    sampleRate: a["sample-rate"],
    bitrate: a.bitrate,
    channels: a.channels,
  });
  if (!settings.success) {
    for (const issue of settings.error.issues) problems.push(describeSettingIssue(issue));
  }
  if (problems.length > 0 || !settings.success) return { ok: false, error: problems.join("; ") };

  const { model: _model, voiceId: _voice, ...rest } = settings.data;
  return {
    ok: true,
    command: "speak",
    args: {
      input: a.file !== undefined ? { kind: "file", path: a.file } : { kind: "text", text: a.text ?? "" },
      out: a.out,
      settings: {
        ...rest,
        ...(a.model !== undefined ? { model: a.model } : {}),
        ...(a.voice !== undefined ? { voiceId: a.voice } : {}),
      },
      mode: a.stream ? "stream" : a.async ? "async" : "auto",
    },
  };
}

/** Whether `--out`'s name fits the format (checked before anything is sent or written). */
function checkOutName(
  out: string,
  format: AudioFormat | undefined,
  formatGiven: boolean,
): string | undefined {
  if (out.trim() === "") return "--out is empty";
  if (/[\\/]$/.test(out)) return `--out "${out}" is a folder; give a file name, e.g. --out ${out}speech.mp3`;
  if (formatGiven && format === undefined) return undefined; // the bad --format is reported already
  // No extension at all may be a folder: the output check says which, once it can look (prepareOutput).
  if (extname(out) === "") return undefined;
  const fromExt = formatOfPath(out);
  const allowed = AUDIO_FORMATS.map((f) => EXTENSIONS[f]).join(", ");
  if (format === undefined) {
    return fromExt ? undefined : `--out "${out}" must end in ${allowed} (or name the format with --format)`;
  }
  if (fromExt === format) return undefined;
  const base = out.slice(0, out.length - extname(out).length);
  return fromExt
    ? `--out "${out}" does not match --format ${format}: name it ${base}${EXTENSIONS[format]}, or use --format ${fromExt}`
    : `--out "${out}" must end in ${EXTENSIONS[format]} for --format ${format}`;
}

/** node:util's parse errors, said the CLI's way: one short line naming the flag. */
function describeParseError(err: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^' <]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const guess = flag ? closestOption(flag) : undefined;
      return `unknown option ${flag ?? ""}${guess ? ` (did you mean ${guess}?)` : ""}`.trim();
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const arg = /'([^']*)'/.exec(err.message)?.[1] ?? "";
      return `unexpected argument "${arg}": every value follows its flag, e.g. --text "Hello there"`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (flag && /does not take an argument/.test(err.message)) return `${flag} takes no value`;
      if (flag && /ambiguous/.test(err.message)) {
        return `${flag} needs a value (for one starting with "-", write ${flag}=-…)`;
      }
      return flag ? `${flag} needs a value` : err.message.split("\n")[0]!;
    default:
      return err.message.split("\n")[0]!;
  }
}

function closestOption(flag: string): string | undefined {
  const name = flag.replace(/^-+/, "");
  let best: { option: string; distance: number } | undefined;
  for (const option of Object.keys(OPTIONS)) {
    const distance = editDistance(name, option);
    if (distance <= 2 && (!best || distance < best.distance)) best = { option, distance };
  }
  return best ? `--${best.option}` : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** `parseArgs` treats `--pitch -3` as a missing value; people type it that way, so glue it to `--pitch=-3`. */
function joinNegativeNumbers(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg.startsWith("--") && !arg.includes("=") && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const FLAG_FOR: Record<string, string> = {
  model: "--model",
  voiceId: "--voice",
  speed: `--speed (${rangeText(SPEED_RANGE)})`,
  pitch: `--pitch (whole number, ${rangeText(PITCH_RANGE)})`,
  volume: `--volume (above 0, up to ${VOLUME_RANGE.max})`,
  sampleRate: "--sample-rate (8000, 16000, 22050, 24000, 32000 or 44100)",
  bitrate: "--bitrate (32000, 64000, 128000 or 256000)",
  channels: "--channels (1 or 2)",
};

function describeSettingIssue(issue: z.core.$ZodIssue): string {
  const field = String(issue.path[0] ?? "");
  const flag = FLAG_FOR[field];
  return flag ? `${flag}: invalid value` : issue.message;
}
