import { describe, expect, it } from "vitest";
import { GuildSettingsSchema } from "../../src/settings/settings.ts";
import {
  BACKLOG_SPEED_STEP,
  type BacklogSpeedSettings,
  backlogSpeed,
} from "../../src/voice/backlog-speed.ts";

const on = (over: Partial<BacklogSpeedSettings> = {}): BacklogSpeedSettings => ({
  backlogSpeedup: true,
  backlogThreshold: 3,
  backlogMaxSpeed: 1.5,
  ...over,
});

describe("backlog speed", () => {
  // [case, clips already waiting, settings, the clip's own speed, the speed to request]
  const table: [string, number, BacklogSpeedSettings, number | undefined, number | undefined][] = [
    ["off: a long queue changes nothing", 20, on({ backlogSpeedup: false }), undefined, undefined],
    ["off: the member's speed is kept", 20, on({ backlogSpeedup: false }), 0.8, 0.8],
    ["empty queue", 0, on(), undefined, undefined],
    ["below the threshold", 2, on(), undefined, undefined],
    ["below the threshold, own speed kept", 2, on(), 1.2, 1.2],
    ["threshold clips waiting: this one is beyond it", 3, on(), undefined, 1.1],
    ["two beyond", 4, on(), undefined, 1.2],
    ["four beyond", 6, on(), undefined, 1.4],
    ["capped", 10, on(), undefined, 1.5],
    ["multiplied onto the member's speed", 3, on(), 1.2, 1.32],
    ["a slow voice is sped up from its own speed", 5, on(), 0.5, 0.65],
    ["a member's speed already at the cap is kept", 5, on(), 1.5, 1.5],
    ["a member's speed above the cap is never lowered", 5, on(), 1.8, 1.8],
    ["a member speed near the cap only reaches the cap", 3, on(), 1.45, 1.5],
    ["threshold 1: nothing waiting", 0, on({ backlogThreshold: 1 }), undefined, undefined],
    ["threshold 1: one clip waiting", 1, on({ backlogThreshold: 1 }), undefined, 1.1],
    ["threshold 25", 24, on({ backlogThreshold: 25 }), undefined, undefined],
    ["threshold 25, one beyond", 25, on({ backlogThreshold: 25 }), undefined, 1.1],
    ["cap 2", 30, on({ backlogMaxSpeed: 2 }), 1, 2],
    ["cap 1: never faster", 30, on({ backlogMaxSpeed: 1 }), undefined, undefined],
    ["an explicit 1 is raised like an absent speed", 4, on(), 1, 1.2],
  ];
  it.each(table)("%s", (_case, waiting, settings, own, want) => {
    expect(backlogSpeed(waiting, settings, own)).toBe(want);
  });

  it("grows one step per waiting clip and stays within the speeds MiniMax accepts", () => {
    expect(BACKLOG_SPEED_STEP).toBe(0.1);
    let previous = 1;
    for (let waiting = 0; waiting <= 40; waiting++) {
      const speed = backlogSpeed(waiting, on({ backlogMaxSpeed: 2, backlogThreshold: 1 }), 1)!;
      expect(speed).toBeGreaterThanOrEqual(previous);
      expect(speed).toBeLessThanOrEqual(2);
      previous = speed;
    }
    expect(previous).toBe(2);
  });

  it("with a server's default settings, does nothing", () => {
    const { voice } = GuildSettingsSchema.parse({});
    expect(backlogSpeed(25, voice, 1.2)).toBe(1.2);
    expect(backlogSpeed(3, { ...voice, backlogSpeedup: true }, undefined)).toBe(1.1);
  });
});
