import { UserFacingError } from "../user-facing-error.ts";
import { MAX_INPUT_FILE_BYTES } from "./narration-input.ts";
import { decodeTextFile, TextFileError } from "./text-file.ts";

/**
 * Multi-voice stories: a script whose lines start with a speaker tag (`Narrator: …`, `Alice: …`) and a
 * mapping of speakers to voices, given as an option (`Narrator=Wise_Woman, Alice=Calm_Woman`) or as
 * `@voices …` lines at the top of the text. A line without a tag continues the speaker before it, so
 * a speech may span paragraphs. Consecutive lines of one speaker form one *run*: one synthesis task in
 * that speaker's voice. Pure: the same text and mapping always give the same runs, which is what lets a
 * job store only the script and find each run's text again after a restart.
 */

/** Most speakers one story may have (each is a voice to keep apart). */
export const MAX_SPEAKERS = 8;
/** Most runs (speaker changes): each is one paid task. */
export const MAX_SCRIPT_RUNS = 60;
/** Longest mapping option accepted (it is user input). */
export const MAX_MAPPING_LENGTH = 1000;

const HEADER = /^@voices?\s+(.*)$/i;
/** A speaker's name: one to three words of letters, digits and a few joiners, up to 32 characters. */
const SPEAKER_NAME = /^[\p{L}\p{N}][\p{L}\p{N}_'.-]*(?: [\p{L}\p{N}][\p{L}\p{N}_'.-]*){0,2}$/u;
/** A voice id as MiniMax forms them (system, designed and account voices). */
const VOICE_ID = /^[A-Za-z0-9][\w.-]{0,255}$/;
/** `Name:` at the start of a line; the name is checked separately. */
const TAG = /^\s*([^:：\n]{1,32}?)\s*[:：]\s?(.*)$/u;

export interface Speaker {
  /** As the mapping spells it; cues and messages use this spelling. */
  name: string;
  voiceId: string;
}

export interface ScriptRun {
  speaker: string;
  voiceId: string;
  text: string;
}

export interface Script {
  /** The speakers of the mapping, in the order they were given. */
  speakers: Speaker[];
  runs: ScriptRun[];
}

/** A script that cannot be used; the message is the member's. */
export class ScriptError extends UserFacingError {
  constructor(message: string) {
    super(message);
    this.name = "ScriptError";
  }
}

const key = (name: string) => name.normalize("NFC").toLocaleLowerCase("en-US");

/**
 * `Narrator=Wise_Woman, Alice=Calm_Woman` (commas, semicolons or line breaks between entries) into
 * speakers. A name given twice is refused, as is anything that is not `name=voice`.
 */
export function parseVoiceMapping(text: string): Speaker[] {
  if (text.length > MAX_MAPPING_LENGTH) {
    throw new ScriptError(`The voices list is too long (at most ${MAX_MAPPING_LENGTH} characters).`);
  }
  const speakers: Speaker[] = [];
  for (const raw of text.split(/[,;\n]/)) {
    const entry = raw.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    if (eq < 0) {
      throw new ScriptError(
        `\`${clip(entry)}\` in the voices list is not \`Speaker=Voice\` (e.g. \`Alice=Calm_Woman\`).`,
      );
    }
    const name = entry.slice(0, eq).trim();
    const voiceId = entry.slice(eq + 1).trim();
    if (!SPEAKER_NAME.test(name)) {
      throw new ScriptError(
        `\`${clip(name)}\` is not a speaker name I can use: up to three words of letters and digits, at most 32 characters.`,
      );
    }
    if (!VOICE_ID.test(voiceId))
      throw new ScriptError(`\`${clip(voiceId)}\` (for ${name}) is not a voice id.`);
    if (speakers.some((s) => key(s.name) === key(name))) {
      throw new ScriptError(`${name} is given a voice twice in the voices list.`);
    }
    speakers.push({ name, voiceId });
  }
  return speakers;
}

/** True when the text declares its voices itself (`@voices …` on its first non-empty line). */
export function hasVoicesHeader(text: string): boolean {
  const first = text.split("\n").find((line) => line.trim() !== "");
  return first !== undefined && HEADER.test(first.trim());
}

/**
 * Parses a script. `mapping` (the command's option) adds to the text's own `@voices` lines and wins
 * over them for a speaker named in both. Throws a ScriptError naming the line for a missing speaker, an
 * unknown speaker, too many speakers or runs, or an empty script.
 */
export function parseScript(text: string, mapping?: string): Script {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const declared: Speaker[] = [];
  let start = 0;
  for (; start < lines.length; start++) {
    const line = lines[start]!.trim();
    if (line === "") continue;
    const header = HEADER.exec(line);
    if (!header) break;
    declared.push(...parseVoiceMapping(header[1]!));
  }
  const given = mapping === undefined ? [] : parseVoiceMapping(mapping);
  const speakers = mergeSpeakers(declared, given);
  if (speakers.length === 0) {
    throw new ScriptError(
      "Give each speaker a voice: `voices:Narrator=Wise_Woman, Alice=Calm_Woman`, or a first line `@voices Narrator=Wise_Woman, Alice=Calm_Woman`.",
    );
  }
  if (speakers.length > MAX_SPEAKERS) {
    throw new ScriptError(
      `A story may have at most ${MAX_SPEAKERS} speakers; this one names ${speakers.length}.`,
    );
  }
  const byKey = new Map(speakers.map((s) => [key(s.name), s]));

  const runs: ScriptRun[] = [];
  let current: { speaker: Speaker; lines: string[] } | undefined;
  const flush = () => {
    if (!current) return;
    const body = current.lines.join("\n").trim();
    if (body !== "") {
      const last = runs.at(-1);
      // A speaker whose empty turn sat between two of their own lines still speaks once.
      if (last && last.speaker === current.speaker.name) last.text = `${last.text}\n${body}`;
      else runs.push({ speaker: current.speaker.name, voiceId: current.speaker.voiceId, text: body });
    }
    current = undefined;
  };
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    const number = i + 1;
    if (HEADER.test(line.trim())) {
      throw new ScriptError(
        `Line ${number}: \`@voices\` lines go at the top of the script, before the first speaker.`,
      );
    }
    const tag = TAG.exec(line);
    const name = tag?.[1]?.trim() ?? "";
    const speaker = tag && SPEAKER_NAME.test(name) ? byKey.get(key(name)) : undefined;
    // One word and a colon reads as a speaker tag; longer openings ("He said: …", "Chapter 2: …")
    // are prose unless the mapping names them.
    if (tag && !speaker && /^\p{L}[\p{L}\p{N}_'.-]*$/u.test(name) && !tag[2]?.startsWith("//")) {
      throw new ScriptError(
        `Line ${number} is spoken by ${clip(name)}, who has no voice. Add \`${clip(name)}=<voice>\` to the voices (known: ${speakers.map((s) => s.name).join(", ")}).`,
      );
    }
    if (tag && speaker) {
      if (current?.speaker !== speaker) {
        flush();
        current = { speaker, lines: [] };
      }
      current.lines.push(tag[2] ?? "");
      continue;
    }
    if (!current) {
      if (line.trim() === "") continue;
      throw new ScriptError(
        `Line ${number} has no speaker. Start each speech with a speaker and a colon, e.g. \`${speakers[0]!.name}: Once upon a time…\`.`,
      );
    }
    current.lines.push(line);
  }
  flush();
  if (runs.length === 0) throw new ScriptError("The script has no lines to speak.");
  if (runs.length > MAX_SCRIPT_RUNS) {
    throw new ScriptError(
      `The script changes speaker ${runs.length} times; a story may have at most ${MAX_SCRIPT_RUNS} turns. Merge some lines or split the story.`,
    );
  }
  return { speakers, runs };
}

/** Given voices win over declared ones; order: declared first, then new given ones. */
function mergeSpeakers(declared: Speaker[], given: Speaker[]): Speaker[] {
  const out = declared.map((s) => given.find((g) => key(g.name) === key(s.name)) ?? s);
  for (const g of given) if (!out.some((s) => key(s.name) === key(g.name))) out.push(g);
  // A speaker declared twice across header lines: the last word counts, once.
  const seen = new Set<string>();
  return out.filter((s) => !seen.has(key(s.name)) && seen.add(key(s.name)));
}

/**
 * The script in its canonical form: one `@voices` line with the speakers who speak, then each run as
 * `Name: text`. `parseScript(formatScript(s))` gives the same runs, which is what a job stores.
 */
export function formatScript(script: Script): string {
  const used = script.speakers.filter((s) => script.runs.some((r) => r.speaker === s.name));
  const header = `@voices ${used.map((s) => `${s.name}=${s.voiceId}`).join(", ")}`;
  return [header, ...script.runs.map((r) => `${r.speaker}: ${r.text}`)].join("\n");
}

/**
 * The script of a narration request, when it is a multi-voice story: a `voices` mapping was given, or
 * the text (or `.txt` file) declares its voices with `@voices` lines. Undefined for a plain narration.
 */
export function storyScriptOf(req: {
  text?: string | undefined;
  file?: { bytes: Uint8Array; name: string } | undefined;
  voices?: string | undefined;
}): Script | undefined {
  let text = req.text;
  if (text === undefined && req.file && /\.txt$/i.test(req.file.name)) {
    try {
      text = decodeTextFile(req.file.bytes, { maxBytes: MAX_INPUT_FILE_BYTES });
    } catch (err) {
      if (err instanceof TextFileError) throw new UserFacingError(`\`${req.file.name}\`: ${err.message}`);
      throw err;
    }
  }
  const mapping = req.voices?.trim() || undefined;
  if (mapping === undefined && (text === undefined || !hasVoicesHeader(text))) return undefined;
  if (text === undefined) {
    throw new ScriptError("A multi-voice story needs its script as text or as a .txt file (not a .zip).");
  }
  return parseScript(text, mapping);
}

function clip(text: string): string {
  const flat = text.replace(/[`\n]/g, " ");
  return flat.length > 40 ? `${flat.slice(0, 39)}…` : flat;
}
