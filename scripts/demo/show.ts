import { audioDurationMs } from "../../src/audio/duration.ts";
import { parseWav } from "../../src/audio/wav.ts";
import type { FakeAttachment, FakeDiscord, FakeMessage } from "../../test/fakes/discord/index.ts";

/** How the demo prints what a member would see: message text with mentions resolved, files with sizes. */

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** `<#id>`, `<@id>` and `<@&id>` as a Discord client shows them: `#general`, `@Member`, `@Admin`. */
export function resolveMentions(discord: FakeDiscord, text: string): string {
  const world = discord.state.world;
  return text
    .replace(/<#(\d+)>/g, (raw, id: string) => {
      const name = world.channels.get(id)?.name;
      return name ? `#${name}` : raw;
    })
    .replace(/<@!?(\d+)>/g, (raw, id: string) => {
      const user = world.users.get(id);
      return user ? `@${user.global_name ?? user.username}` : raw;
    })
    .replace(/<@&(\d+)>/g, (raw, id: string) => {
      const role = world.roles.get(id);
      return role ? `@${role.name}` : raw;
    })
    .replace(/https:\/\/discord\.com\/channels\/[\d@]+\/\d+\/\d+/g, "(a message link)");
}

/** The lines of a message's text, indented under a label such as "reply (only you)". */
export function messageLines(discord: FakeDiscord, label: string, msg: FakeMessage): string[] {
  const text = resolveMentions(discord, msg.content).trim();
  const lines = text ? text.split("\n") : [];
  if (lines.length === 0) return [`${label}: (no text)`];
  return [`${label}: ${lines[0]}`, ...lines.slice(1).map((l) => `${" ".repeat(label.length + 2)}${l}`)];
}

export function isEphemeral(msg: FakeMessage): boolean {
  return ((msg.flags ?? 0) & 64) !== 0;
}

export function isVoiceMessage(msg: FakeMessage): boolean {
  return ((msg.flags ?? 0) & 8192) !== 0;
}

/** What a member learns about an attachment: its length (audio) or its cues (subtitles). */
export function describeFile(att: FakeAttachment, bytes: Buffer): string {
  const parts = [att.filename, formatBytes(bytes.length)];
  const lengthMs = fileDurationMs(att, bytes);
  if (lengthMs !== undefined) parts.push(formatSeconds(lengthMs));
  if (att.filename.endsWith(".srt")) {
    const cues = srtCueCount(bytes.toString("utf8"));
    parts.push(`${cues} subtitle ${cues === 1 ? "cue" : "cues"}`);
  }
  if (att.waveform) parts.push("with waveform");
  return parts.join(" · ");
}

export function fileDurationMs(att: FakeAttachment, bytes: Buffer): number | undefined {
  // Discord's own field, set on voice messages (discord.js sends 0 or null on other files).
  if (typeof att.duration_secs === "number" && att.duration_secs > 0) return att.duration_secs * 1000;
  const ext = att.filename.split(".").at(-1)?.toLowerCase();
  try {
    switch (ext) {
      case "mp3":
      case "flac":
        return audioDurationMs(bytes, ext);
      case "wav": {
        const wav = parseWav(bytes);
        return (wav.data.length / (wav.channels * (wav.bitsPerSample / 8)) / wav.sampleRate) * 1000;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

export function srtCueCount(srt: string): number {
  return srt
    .trim()
    .split(/\r?\n\r?\n+/)
    .filter((block) => /-->/.test(block)).length;
}
