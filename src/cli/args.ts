import { parseArgs } from "node:util";
import { z } from "zod";
import {
  AUDIO_FORMATS,
  AudioFormatSchema,
  EmotionSchema,
  LANGUAGE_BOOSTS,
  LanguageBoostSchema,
  SOUND_EFFECTS,
  SoundEffectSchema,
} from "../speech/models.ts";
import { PITCH_RANGE, rangeText, SPEED_RANGE, VOLUME_RANGE } from "../speech/ranges.ts";
import { type SpeechSettings, SpeechSettingsSchema } from "../speech/types.ts";

export const USAGE = `Usage: npm run speak -- --text "Hello there" --out hello.mp3 [options]

Input (one of):
  --text TEXT          the text to speak
  --file PATH          read the text from a UTF-8 .txt file (with --async it is uploaded as a file)

Output:
  --out PATH           where to write the audio (default: speech.<format>); --async also writes PATH.srt

Voice and audio:
  --voice ID           voice id (default: TTS_DEFAULT_VOICE)
  --model M            model (default: TTS_MODEL)
  --speed S            ${rangeText(SPEED_RANGE)}
  --pitch P            whole semitones, ${rangeText(PITCH_RANGE)}
  --volume V           above 0, up to ${VOLUME_RANGE.max}
  --emotion E          ${EmotionSchema.options.join(", ")}
  --language L         language boost: ${LANGUAGE_BOOSTS.slice(0, 6).join(", ")}, … or auto
  --effect NAME        ${SOUND_EFFECTS.join(", ")}
  --format F           ${AUDIO_FORMATS.join(", ")} (default mp3)
  --sample-rate N      8000, 16000, 22050, 24000, 32000 or 44100
  --bitrate N          32000, 64000, 128000 or 256000 (mp3)
  --channels 1|2

Mode:
  --stream             stream the synthesis and write chunks as they arrive
  --async              use the long-text (async) flow; automatic above SYNC_MAX_CHARS
  --help               show this help
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
  help: z.boolean().optional(),
});

export interface SpeakArgs {
  help: boolean;
  input: { kind: "text"; text: string } | { kind: "file"; path: string };
  out: string;
  settings: SpeechSettings;
  mode: "auto" | "stream" | "async";
}

export type ParseResult = { ok: true; args: SpeakArgs } | { ok: false; error: string };

const EXTENSIONS: Record<string, string> = { mp3: "mp3", wav: "wav", flac: "flac", pcm: "pcm" };

/** Turns argv into a validated request; every problem is returned as one readable message. */
export function parseSpeakArgs(argv: string[], defaults: { model: string; voice: string }): ParseResult {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeNumbers(argv),
      strict: true,
      allowPositionals: false,
      options: {
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
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  const raw = RawArgsSchema.safeParse(values);
  if (!raw.success) return { ok: false, error: raw.error.issues.map((i) => i.message).join("\n") };
  const a = raw.data;
  if (a.help) {
    return {
      ok: true,
      args: {
        help: true,
        input: { kind: "text", text: "" },
        out: "",
        settings: SpeechSettingsSchema.parse({ model: defaults.model, voiceId: defaults.voice }),
        mode: "auto",
      },
    };
  }

  const problems: string[] = [];
  if (a.text !== undefined && a.file !== undefined) problems.push("give either --text or --file, not both");
  if (a.text === undefined && a.file === undefined) problems.push("--text or --file is required");
  if (a.text !== undefined && a.text.trim() === "") problems.push("--text is empty");
  if (a.stream && a.async) problems.push("--stream and --async cannot be combined");

  const enumProblem = <T extends string>(flag: string, value: string | undefined, schema: z.ZodType<T>) => {
    if (value === undefined) return undefined;
    const r = schema.safeParse(value);
    if (!r.success) {
      problems.push(`--${flag} "${value}" is not one of the allowed values (see --help)`);
      return undefined;
    }
    return r.data;
  };
  const emotion = enumProblem("emotion", a.emotion, EmotionSchema);
  const languageBoost = enumProblem("language", a.language, LanguageBoostSchema);
  const soundEffect = enumProblem("effect", a.effect, SoundEffectSchema);
  const format = enumProblem("format", a.format, AudioFormatSchema) ?? "mp3";

  const settings = SpeechSettingsSchema.safeParse({
    model: a.model ?? defaults.model,
    voiceId: a.voice ?? defaults.voice,
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
  if (problems.length > 0 || !settings.success) return { ok: false, error: problems.join("\n") };

  return {
    ok: true,
    args: {
      help: false,
      input: a.file !== undefined ? { kind: "file", path: a.file } : { kind: "text", text: a.text ?? "" },
      out: a.out ?? `speech.${EXTENSIONS[format]}`,
      settings: settings.data,
      mode: a.stream ? "stream" : a.async ? "async" : "auto",
    },
  };
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
