/** @internal */
export interface Remembered {
    readonly value: unknown;
    /** Monotonic nanoseconds of the Clock when the primary answered. */
    readonly at: number;
}
/**
 * A bounded least-recently-used map of the primary's latest answer per input key. A `Map` keeps insertion order,
 * so re-inserting on every access moves the key to the young end and the first key is always the eldest.
 *
 * @internal
 */
export declare class LastKnownGoodMemory {
    readonly key: (input: unknown) => string;
    readonly maxStalenessNanos: number;
    readonly capacity: number;
    readonly entries: Map<string, Remembered>;
    constructor(key: (input: unknown) => string, maxStalenessNanos: number, capacity: number);
    remember(input: unknown, value: unknown, now: number): void;
    /**
     * The entry for `key`, refreshed as most recently used. An entry past `maxStaleness` is still returned, so the
     * caller can say how stale it was, but it is dropped: it will never be served.
     */
    recall(key: string, now: number): Remembered | undefined;
    isTooStale(entry: Remembered, now: number): boolean;
}
