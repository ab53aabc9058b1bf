import { constants, unlinkSync } from "node:fs";
import { access, mkdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { AudioFormat } from "../audio/format.ts";
import { DEFAULT_OUT_DIR, defaultOutName, extensionOf } from "./args.ts";

/** A problem to report in one line, without a stack trace. */
export class CliError extends Error {}

/**
 * Where the audio will go, settled before any provider call: the folder exists and is writable, the
 * target is not a folder. `here` is the folder the command was typed in. Without `--out`, a fresh
 * name under `here/out/` (that folder is created; an existing file is never overwritten).
 */
export async function prepareOutput(opts: {
  out: string | undefined;
  here: string;
  format: AudioFormat;
  /** Other files written beside the audio (subtitles), checked the same way. */
  companions?: (audioPath: string) => string[];
}): Promise<string> {
  let path: string;
  if (opts.out === undefined) {
    const dir = resolve(opts.here, DEFAULT_OUT_DIR);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new CliError(`Cannot create the output folder ${dir}: ${errnoText(e)}; give a path with --out`);
    }
    path = await freeName(dir, defaultOutName(opts.format));
  } else {
    path = resolve(opts.here, opts.out);
  }
  const ext = extensionOf(opts.format);
  await checkWritable(path, ext);
  // After the folder check: `--out some/folder` is said as a folder, not as a missing extension.
  if (extname(path) === "") throw new CliError(`--out ${path} has no extension: name it ${path}${ext}`);
  for (const extra of opts.companions?.(path) ?? []) await checkWritable(extra, ext);
  return path;
}

async function checkWritable(path: string, ext: string): Promise<void> {
  const target = await statOrUndefined(path);
  if (target?.isDirectory()) {
    throw new CliError(`${path} is a folder; give a file name, e.g. --out ${join(path, `speech${ext}`)}`);
  }
  if (target && !target.isFile())
    throw new CliError(`${path} exists and is not a regular file; choose another --out`);
  const dir = dirname(path);
  const folder = await statOrUndefined(dir);
  if (!folder)
    throw new CliError(`The folder ${dir} does not exist; create it first or choose another --out`);
  if (!folder.isDirectory()) throw new CliError(`${dir} is not a folder; choose another --out`);
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new CliError(`Cannot write to the folder ${dir} (${errnoText(e)}); choose another --out`);
  }
}

/** `name`, or `name-2`, `name-3`, … when taken (two runs within one second). */
async function freeName(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = join(dir, n === 1 ? name : `${stem}-${n}${ext}`);
    if (!(await statOrUndefined(candidate))) return candidate;
  }
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new CliError(`Cannot check ${path}: ${errnoText(e)}`);
  }
}

export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

/**
 * The `.part` files being written. Every write goes to `.<name>.part` beside the target and is renamed
 * when complete, so an interrupted run never leaves a half file under the real name; whatever is
 * still listed here when the run fails or is interrupted is removed.
 */
export class PartFiles {
  readonly #live = new Set<string>();

  /** The `.part` path for `target`, now tracked. */
  open(target: string): string {
    const part = join(dirname(target), `.${basename(target)}.part`);
    this.#live.add(part);
    return part;
  }

  /** Renames the finished `.part` over the target. */
  async commit(part: string, target: string): Promise<void> {
    await rename(part, target);
    this.#live.delete(part);
  }

  async write(target: string, data: Buffer): Promise<void> {
    const part = this.open(target);
    try {
      await writeFile(part, data);
      await this.commit(part, target);
    } catch (e) {
      throw new CliError(`Cannot write ${target}: ${errnoText(e)}`);
    }
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.#live].map((p) => unlink(p).catch(() => {})));
    this.#live.clear();
  }

  /** For a second Ctrl-C: the process exits right after, so no awaiting. */
  removeAllSync(): void {
    for (const p of this.#live) {
      try {
        unlinkSync(p);
      } catch {
        // already gone
      }
    }
    this.#live.clear();
  }
}
