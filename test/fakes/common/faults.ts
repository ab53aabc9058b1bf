/**
 * A queue of injected faults. Each fault fires on the next `times` requests it applies to (by route
 * and by the phase asking for it), so a test states "the next query fails" without timing games.
 */

export interface FaultTarget {
  /** Request path the fault is limited to; a prefix when it ends with `/`. Any route when absent. */
  route?: string;
  /** How many matching requests it affects (default 1). */
  times?: number;
}

/** Faults every fake supports, applied before (latency, http, timeout) or after (truncate) routing. */
export type CommonFault =
  | ({ kind: "latency"; ms: number } & FaultTarget)
  | ({ kind: "http"; status: number } & FaultTarget)
  | ({ kind: "timeout" } & FaultTarget)
  | ({ kind: "truncate" } & FaultTarget);

export function routeMatches(route: string | undefined, path: string): boolean {
  if (route === undefined) return true;
  if (route.endsWith("/")) return path.startsWith(route);
  return path === route;
}

export class FaultQueue<F extends { kind: string } & FaultTarget> {
  #items: { fault: F; left: number }[] = [];

  add(fault: F): void {
    this.#items.push({ fault, left: fault.times ?? 1 });
  }

  clear(): void {
    this.#items = [];
  }

  /** Faults still waiting to fire, in injection order. */
  pending(): F[] {
    return this.#items.map((i) => i.fault);
  }

  /** Consumes one use of the first queued fault of one of `kinds` that applies to `path`. */
  take<K extends F["kind"]>(path: string, kinds: readonly K[]): Extract<F, { kind: K }> | undefined {
    const index = this.#items.findIndex(
      (i) => (kinds as readonly string[]).includes(i.fault.kind) && routeMatches(i.fault.route, path),
    );
    if (index < 0) return undefined;
    const item = this.#items[index]!;
    item.left -= 1;
    if (item.left <= 0) this.#items.splice(index, 1);
    return item.fault as Extract<F, { kind: K }>;
  }
}
