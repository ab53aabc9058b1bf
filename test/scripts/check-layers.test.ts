import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { areaOf, collectImports, LAYERS, violations } from "../../scripts/check-layers.ts";

describe("areaOf", () => {
  it.each([
    ["commands/speak.ts", "commands"],
    ["src/speak/planner.ts", "speak"],
    ["src/providers/minimax/client.ts", "providers"],
    ["src/app.ts", "app.ts"],
    ["test/speak/planner.test.ts", undefined],
  ])("%s → %s", (path, area) => {
    expect(areaOf(path)).toBe(area);
  });
});

describe("violations", () => {
  it.each([
    ["a downward import", "src/speak/planner.ts", "src/settings/usage.ts", false],
    ["an import inside one folder", "src/jobs/runner.ts", "src/jobs/steps.ts", false],
    ["commands to anything", "commands/speak.ts", "src/discord/actor.ts", false],
    ["an upward import", "src/settings/settings.ts", "src/speak/speak-options.ts", true],
    ["a sideways cycle half", "src/audio/duration.ts", "src/speech/models.ts", true],
    ["into a folder the plan does not know", "src/jobs/runner.ts", "src/misc/thing.ts", true],
    ["a base file importing a folder", "src/logger.ts", "src/storage/storage.ts", true],
  ])("%s: %s → %s is a violation: %s", (_name, file, target, bad) => {
    expect(violations([{ file, target }]).length > 0).toBe(bad);
  });

  it("names both ends of each offending import", () => {
    expect(violations([{ file: "src/text/x.ts", target: "src/jobs/types.ts" }])).toEqual([
      { from: "text", to: "jobs", file: "src/text/x.ts", target: "src/jobs/types.ts" },
    ]);
  });
});

describe("the project itself", () => {
  it("follows its own layering", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const imports = collectImports(root, ["src", "commands"]);
    expect(imports.length).toBeGreaterThan(300);
    expect(violations(imports)).toEqual([]);
  });

  it("lists every folder of src", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const areas = new Set(collectImports(root, ["src", "commands"]).map((i) => areaOf(i.file)));
    for (const area of areas) expect(LAYERS).toContain(area);
  });
});
