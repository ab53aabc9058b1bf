import { describe, expect, it } from "vitest";
import { mp3DurationMs } from "../../src/audio/mp3.ts";
import { joinStory } from "../../src/jobs/story-result.ts";
import { encodeAudio, synthPcm } from "../fakes/audio/tone.ts";

const shape = { sampleRate: 32000, channels: 1 };
const mp3 = (ms: number, hz: number) =>
  encodeAudio(synthPcm({ durationMs: ms, frequency: hz, ...shape }), { format: "mp3", ...shape });

describe("joinStory", () => {
  it("places each run after the ones before it, shifting its cues there and naming its speaker", () => {
    const a = mp3(1000, 220);
    const b = mp3(500, 440);
    const joined = joinStory([
      {
        speaker: "Narrator",
        text: "Once. Then.",
        clips: [a],
        format: "mp3",
        subtitles: [
          { text: "Once.", time_begin: 0, time_end: 400 },
          { text: "Then.", time_begin: 400, time_end: 1000 },
        ],
      },
      { speaker: "Alice", text: "Hi!", clips: [b], format: "mp3", subtitles: undefined },
    ]);
    const aMs = mp3DurationMs(a);
    expect(joined.runs).toEqual([
      { speaker: "Narrator", startMs: 0, endMs: aMs },
      { speaker: "Alice", startMs: aMs, endMs: aMs + mp3DurationMs(b) },
    ]);
    expect(joined.durationMs).toBe(mp3DurationMs(joined.audio));
    expect(joined.subtitles).toEqual([
      { text: "Narrator: Once.", time_begin: 0, time_end: 400 },
      { text: "Narrator: Then.", time_begin: 400, time_end: 1000 },
      // No cues from the provider: one cue spanning the run, from its text.
      { text: "Alice: Hi!", time_begin: aMs, time_end: aMs + mp3DurationMs(b) },
    ]);
  });

  it("joins a run made of several clips, and refuses runs of different formats", () => {
    const clip = mp3(300, 220);
    const joined = joinStory([
      { speaker: "A", text: "x", clips: [clip, clip], format: "mp3", subtitles: [] },
    ]);
    expect(joined.durationMs).toBe(2 * mp3DurationMs(clip));
    expect(() =>
      joinStory([
        { speaker: "A", text: "x", clips: [clip], format: "mp3", subtitles: [] },
        { speaker: "B", text: "y", clips: [clip], format: "wav", subtitles: [] },
      ]),
    ).toThrow(/differ in format/);
  });
});
