/**
 * Sliding windows of call outcomes, for failure-rate and slow-call-rate policies.
 *
 * Both kinds keep running totals so a rate is O(1) to read, and bounded memory whatever the call volume.
 */

/** @internal */
export interface Window {
  readonly record: (failure: boolean, slow: boolean, now: number) => void
  /** Drops outcomes that fell out of the window as of `now`. */
  readonly expire: (now: number) => void
  readonly clear: () => void
  calls: number
  failures: number
  slow: number
}

const FAILURE = 1
const SLOW = 2

/**
 * The last `size` outcomes, in a ring.
 *
 * @internal
 */
export class CountWindow implements Window {
  calls = 0
  failures = 0
  slow = 0
  private readonly ring: Uint8Array
  private next = 0
  readonly size: number
  constructor(size: number) {
    this.size = size
    this.ring = new Uint8Array(size)
  }
  record(failure: boolean, slow: boolean): void {
    if (this.calls === this.size) {
      const evicted = this.ring[this.next]!
      if (evicted & FAILURE) this.failures--
      if (evicted & SLOW) this.slow--
    } else {
      this.calls++
    }
    this.ring[this.next] = (failure ? FAILURE : 0) | (slow ? SLOW : 0)
    if (failure) this.failures++
    if (slow) this.slow++
    this.next = (this.next + 1) % this.size
  }
  expire(): void {}
  clear(): void {
    this.calls = 0
    this.failures = 0
    this.slow = 0
    this.next = 0
    this.ring.fill(0)
  }
}

/**
 * The outcomes of the last `millis`, in `buckets` time buckets of `millis / buckets` each.
 *
 * A bucket is identified by its epoch (`floor(now / width)`), not by its slot, so an idle gap of any length expires
 * exactly the buckets it covers: cockatiel's sampling breaker keeps stale buckets across gaps, we do not. The window
 * is approximate to one bucket width: an outcome leaves it between `millis - width` and `millis` after it was recorded.
 *
 * @internal
 */
export class TimeWindow implements Window {
  calls = 0
  failures = 0
  slow = 0
  private readonly width: number
  private readonly bucketCalls: Float64Array
  private readonly bucketFailures: Float64Array
  private readonly bucketSlow: Float64Array
  private lastEpoch = Number.NEGATIVE_INFINITY
  readonly buckets: number
  constructor(millis: number, buckets: number) {
    this.buckets = buckets
    this.width = millis / buckets
    this.bucketCalls = new Float64Array(buckets)
    this.bucketFailures = new Float64Array(buckets)
    this.bucketSlow = new Float64Array(buckets)
  }
  expire(now: number): void {
    const epoch = Math.floor(now / this.width)
    if (epoch <= this.lastEpoch) return
    if (epoch - this.lastEpoch >= this.buckets) {
      this.clear()
    } else {
      for (let e = this.lastEpoch + 1; e <= epoch; e++) this.dropSlot(e % this.buckets)
    }
    this.lastEpoch = epoch
  }
  record(failure: boolean, slow: boolean, now: number): void {
    this.expire(now)
    const slot = this.lastEpoch % this.buckets
    this.bucketCalls[slot]!++
    this.calls++
    if (failure) {
      this.bucketFailures[slot]!++
      this.failures++
    }
    if (slow) {
      this.bucketSlow[slot]!++
      this.slow++
    }
  }
  clear(): void {
    this.calls = 0
    this.failures = 0
    this.slow = 0
    this.bucketCalls.fill(0)
    this.bucketFailures.fill(0)
    this.bucketSlow.fill(0)
  }
  private dropSlot(slot: number): void {
    this.calls -= this.bucketCalls[slot]!
    this.failures -= this.bucketFailures[slot]!
    this.slow -= this.bucketSlow[slot]!
    this.bucketCalls[slot] = 0
    this.bucketFailures[slot] = 0
    this.bucketSlow[slot] = 0
  }
}

/** @internal */
export type WindowSpec =
  | { readonly _tag: "Count"; readonly size: number }
  | { readonly _tag: "Time"; readonly millis: number; readonly buckets: number }

/** @internal */
export const makeWindow = (spec: WindowSpec): Window =>
  spec._tag === "Count" ? new CountWindow(spec.size) : new TimeWindow(spec.millis, spec.buckets)
