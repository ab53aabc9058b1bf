import type { ProducedResult } from "./result-files.ts";

/**
 * Finished audio waiting to be posted, bounded in bytes: past the bound the oldest entry is dropped.
 * An async result is downloaded again when its turn comes (its URL lives for hours); a provider
 * without an async API cannot fetch it again, and its job fails as interrupted rather than pay twice.
 */
export class PendingResults {
  readonly #map = new Map<string, ProducedResult>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(id: string): ProducedResult | undefined {
    return this.#map.get(id);
  }

  has(id: string): boolean {
    return this.#map.has(id);
  }

  set(id: string, result: ProducedResult): void {
    this.delete(id);
    this.#map.set(id, result);
    this.#bytes += sizeOf(result);
    for (const [key, value] of this.#map) {
      if (this.#bytes <= this.#maxBytes || key === id) break;
      this.#map.delete(key);
      this.#bytes -= sizeOf(value);
    }
  }

  delete(id: string): void {
    const old = this.#map.get(id);
    if (!old) return;
    this.#map.delete(id);
    this.#bytes -= sizeOf(old);
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}

function sizeOf(result: ProducedResult): number {
  return result.files.reduce((n, f) => n + f.data.length, 0);
}
