import type { EventEmitter } from "node:events";

/**
 * Resolves with `check()`'s first non-undefined value, re-checked on every "change" of `bus` and, with
 * `pollMs`, on a timer too (conditions like "no packet for 200 ms" become true without any event).
 * `fake` names the fake in the timeout message.
 */
export function waitUntil<T>(
  bus: EventEmitter,
  check: () => T | undefined,
  opts: { timeoutMs: number; what: string; pollMs?: number; fake: string },
): Promise<T> {
  const first = check();
  if (first !== undefined) return Promise.resolve(first);
  return new Promise<T>((resolve, reject) => {
    const onChange = () => {
      let value: T | undefined;
      try {
        value = check();
      } catch (error) {
        cleanup();
        reject(error);
        return;
      }
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${opts.fake}: timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`));
    }, opts.timeoutMs);
    const poll = opts.pollMs === undefined ? undefined : setInterval(onChange, opts.pollMs);
    const cleanup = () => {
      clearTimeout(timer);
      clearInterval(poll);
      bus.off("change", onChange);
    };
    bus.on("change", onChange);
  });
}
