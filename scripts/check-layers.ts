import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder layering of the project, checked: each folder may import only the folders below it in
 * LAYERS, so no two folders import each other and no arrow points up. Run in CI (`npm run
 * check:layers`); a new import that breaks the plan fails the build with the files that do it.
 * Small on purpose: it reads relative `import … from "./x"` specifiers, which is all this code uses.
 */

/** Top to bottom. `src/` root files are named by their file name. */
export const LAYERS: readonly string[] = [
  "commands",
  "index.ts",
  "app.ts",
  "cli",
  "discord",
  "requests",
  "jobs",
  "voice",
  "speak",
  "settings",
  "voices",
  "text",
  "providers",
  "speech",
  "audio",
  "storage",
  "metrics",
  "config.ts",
  "logger.ts",
  "user-facing-error.ts",
];

export interface Violation {
  from: string;
  to: string;
  file: string;
  target: string;
}

/** The area a repository path belongs to: `commands`, a folder of `src/`, or a root file of `src/`. */
export function areaOf(path: string): string | undefined {
  const parts = normalize(path).split(sep);
  if (parts[0] === "commands") return "commands";
  if (parts[0] !== "src" || parts.length < 2) return undefined;
  return parts[1];
}

/** Imports that go to an area at the same height or above (or to one the plan does not know). */
export function violations(imports: readonly { file: string; target: string }[]): Violation[] {
  const out: Violation[] = [];
  for (const { file, target } of imports) {
    const from = areaOf(file);
    const to = areaOf(target);
    if (!from || !to || from === to) continue;
    const a = LAYERS.indexOf(from);
    const b = LAYERS.indexOf(to);
    if (a < 0 || b < 0 || b <= a) out.push({ from, to, file, target });
  }
  return out;
}

/** Every relative import in the `.ts` files under `dirs`, as repository paths. */
export function collectImports(root: string, dirs: readonly string[]): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = readFileSync(join(root, path), "utf8");
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
          out.push({ file: path, target: normalize(join(dirname(path), m[1]!)) });
        }
      }
    }
  };
  for (const dir of dirs) walk(dir);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const found = violations(collectImports(root, ["src", "commands"]));
  if (found.length > 0) {
    console.error("Imports against the folder layering (see LAYERS in scripts/check-layers.ts):");
    for (const v of found)
      console.error(`  ${v.from} → ${v.to}: ${v.file} imports ${relative(root, join(root, v.target))}`);
    process.exit(1);
  }
  console.log(`folder layering holds: ${LAYERS.length} areas, no import points up or sideways`);
}
