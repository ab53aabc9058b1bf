/**
 * The part of Keyv the stores use (`Storage.keyv(namespace)` gives one), kept small so that tests can
 * pass a Map-backed stand-in. The one definition: stores that need less take a `Pick` of it.
 */
export interface KeyValue {
  get(key: string): Promise<unknown>;
  /** `ttl` in milliseconds: the store forgets the key after it (Keyv's third argument); undefined keeps it. */
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
  delete(key: string): Promise<unknown>;
}

/**
 * A read-modify-write of one key that holds across processes (Redis: compare-and-set, retried by the
 * caller). `change` gets the current value (undefined when absent) and returns what to write, or
 * undefined to write nothing. Resolves true when it wrote, false when the value changed meanwhile or
 * `change` declined. Stores used by one process only (SQLite, tests) do not have it.
 */
export interface AtomicUpdate {
  update(
    key: string,
    change: (current: unknown) => { value: unknown; ttl?: number } | undefined,
  ): Promise<boolean>;
}

/** What the record stores (jobs, narration requests) use: they never delete, they let keys expire. */
export type RecordKeyValue = Pick<KeyValue, "get" | "set"> & Partial<AtomicUpdate>;
