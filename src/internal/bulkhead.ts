import { Context, Effect, Layer, Semaphore } from "effect"
import { dual } from "effect/Function"
import type * as B from "../Bulkhead.ts"
import { BulkheadConfigError, BulkheadFull } from "./bulkheadErrors.ts"
import { type Counts, register } from "./bulkheadMetrics.ts"

const MAX_SIZE = 2 ** 31 - 1
const DEFAULT_NAME = "default"

/** @internal */
export const Service =
  <Self>() =>
  <const Key extends string>(key: Key) =>
    Context.Service<Self, B.Bulkhead>()(key)

const validate = (
  options: B.Options
): BulkheadConfigError | { name: string; maxConcurrent: number; maxQueue: number } => {
  const raw: Partial<B.Options> = typeof options === "object" && options !== null ? options : {}
  const name = raw.name ?? DEFAULT_NAME
  const fail = (field: string, value: unknown, expected: string) =>
    new BulkheadConfigError({ bulkhead: typeof name === "string" ? name : DEFAULT_NAME, field, value, expected })
  if (typeof options !== "object" || options === null) return fail("options", options, "an object")
  if (typeof name !== "string" || name.length === 0) return fail("name", name, "a non-empty string")
  const { maxConcurrent, maxQueue = 0 } = raw
  if (!Number.isInteger(maxConcurrent) || (maxConcurrent as number) < 1 || (maxConcurrent as number) > MAX_SIZE) {
    return fail("maxConcurrent", maxConcurrent, `an integer from 1 to ${MAX_SIZE}`)
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0 || maxQueue > MAX_SIZE) {
    return fail("maxQueue", maxQueue, `an integer from 0 to ${MAX_SIZE}`)
  }
  return { name, maxConcurrent: maxConcurrent as number, maxQueue }
}

/**
 * `admitted` counts the calls holding a place (running or waiting), `inFlight` those holding a permit; the queue is
 * the difference. Counts change synchronously on the calling fiber, so the admission check and the place it takes
 * cannot be split by another fiber.
 */
class BulkheadImpl implements B.Bulkhead, Counts {
  admitted = 0
  inFlight = 0
  rejected = 0
  private readonly capacity: number
  readonly name: string
  readonly maxConcurrent: number
  readonly maxQueue: number
  private readonly semaphore: Semaphore.Semaphore

  constructor(name: string, maxConcurrent: number, maxQueue: number) {
    this.name = name
    this.maxConcurrent = maxConcurrent
    this.maxQueue = maxQueue
    this.capacity = maxConcurrent + maxQueue
    this.semaphore = Semaphore.makeUnsafe(maxConcurrent)
  }

  readonly protect = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | B.BulkheadFull, R> =>
    Effect.suspend((): Effect.Effect<A, E | B.BulkheadFull, R> => {
      if (this.admitted >= this.capacity) {
        this.rejected++
        return Effect.fail(
          new BulkheadFull({ bulkhead: this.name, maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue })
        )
      }
      this.admitted++
      let started = false
      const run = Effect.suspend(() => {
        started = true
        this.inFlight++
        return self
      })
      // The permit goes back inside `withPermit`, before the place is given up here, so a call admitted after this
      // exit finds its permit free (or waits in line behind the calls that were already queued).
      return Effect.onExit(this.semaphore.withPermit(run), () => {
        this.admitted--
        if (started) this.inFlight--
        return Effect.void
      })
    })

  readonly stats = Effect.sync((): B.Stats => ({
    name: this.name,
    maxConcurrent: this.maxConcurrent,
    maxQueue: this.maxQueue,
    inFlight: this.inFlight,
    queued: this.admitted - this.inFlight,
    rejected: this.rejected
  }))
}

/** @internal */
export const make = (options: B.Options): Effect.Effect<B.Bulkhead, BulkheadConfigError> =>
  Effect.contextWith((context: Context.Context<never>) => {
    const valid = validate(options)
    if (valid instanceof BulkheadConfigError) return Effect.fail(valid)
    const bulkhead = new BulkheadImpl(valid.name, valid.maxConcurrent, valid.maxQueue)
    register(valid.name, bulkhead, context)
    return Effect.succeed(bulkhead)
  })

/** @internal */
export const layer = <Self>(
  key: Context.Key<Self, B.Bulkhead>,
  options: B.Options
): Layer.Layer<Self, BulkheadConfigError> => Layer.effect(key, make({ ...options, name: options.name ?? key.key }))

/** @internal */
export const protect: {
  (bulkhead: B.Bulkhead): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | B.BulkheadFull, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: B.Bulkhead): Effect.Effect<A, E | B.BulkheadFull, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: B.Bulkhead): Effect.Effect<A, E | B.BulkheadFull, R> =>
  bulkhead.protect(self)
)
