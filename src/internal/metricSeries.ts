/**
 * A metric series whose value is read by a hook when metrics are collected, so whatever it counts pays nothing per
 * update. It can be frozen (it keeps reporting its last value without holding what it read) or removed from the
 * registry it was registered in.
 */
import { Metric } from "effect"
import type { Context } from "effect"

/** @internal */
export class HookedSeries {
  private read: (collector: Context.Context<never>) => unknown
  private readonly registration: Metric.Registration

  constructor(
    metric: Metric.Metric<any, any>,
    context: Context.Context<never>,
    read: (collector: Context.Context<never>) => unknown
  ) {
    this.read = read
    this.registration = Metric.registerUnsafe(metric, context, {
      get: (collector) => this.read(collector),
      update: noop,
      modify: noop
    })
  }

  /** Keeps the value read now from then on. A series registered since under the same key is not touched. */
  freeze(context: Context.Context<never>): void {
    const last = this.read(context)
    this.read = () => last
  }

  /** Removes the series from its registry, unless a series registered since under the same key replaced it. */
  remove(): void {
    this.registration.remove()
  }
}

const noop = (): void => {}
