/** @internal */
export interface Remembered {
  readonly value: unknown
  /** Monotonic nanoseconds of the Clock when the primary answered. */
  readonly at: number
}

/**
 * A bounded least-recently-used map of the primary's latest answer per input key. A `Map` keeps insertion order,
 * so re-inserting on every access moves the key to the young end and the first key is always the eldest.
 *
 * @internal
 */
export class LastKnownGoodMemory {
  /** The name of the provider that answers from this memory. */
  readonly source: string
  readonly key: (input: unknown) => string
  readonly maxStalenessNanos: number
  readonly capacity: number
  readonly entries = new Map<string, Remembered>()

  constructor(source: string, key: (input: unknown) => string, maxStalenessNanos: number, capacity: number) {
    this.source = source
    this.key = key
    this.maxStalenessNanos = maxStalenessNanos
    this.capacity = capacity
  }

  remember(input: unknown, value: unknown, now: number): void {
    const key = this.key(input)
    this.entries.delete(key)
    this.entries.set(key, { value, at: now })
    if (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value as string)
    }
  }

  /**
   * The entry for `key`, refreshed as most recently used. An entry past `maxStaleness` is still returned, so the
   * caller can say how stale it was, but it is dropped: it will never be served.
   */
  recall(key: string, now: number): Remembered | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.entries.delete(key)
    if (!this.isTooStale(entry, now)) this.entries.set(key, entry)
    return entry
  }

  isTooStale(entry: Remembered, now: number): boolean {
    return now - entry.at > this.maxStalenessNanos
  }
}
