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

/** What the record stores (jobs, narration requests) use: they never delete, they let keys expire. */
export type RecordKeyValue = Pick<KeyValue, "get" | "set">;
