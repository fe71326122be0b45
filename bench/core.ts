// Our breaker and fallbacks against a bare Effect step and Effect 4.1's own `effect/persistence` CircuitBreaker, all
// in the Effect world (one `Effect.gen` loop per sample), plus the stream fallback against a bare stream and the heap
// one circuit keeps. The targets of the issue are declared here; they compare with the peers of peers.ts as well.
import { Context, Effect, Exit, Layer, Scope, Stream } from "effect"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import { CircuitBreaker, Fallback } from "effect-fallback"
import {
  effectLoop,
  effectProgram,
  type MemoryProbe,
  type Results,
  streamDrain,
  type Suite,
  type Target
} from "./harness.ts"
import { names as peer, PROMISE } from "./peers.ts"

export const CALLS = "effect world: one call per step"
export const STREAMS = "streams: Stream.range(1, 1e6) drained"

export const names = {
  bare: "yield* Effect.succeed(1) (baseline)",
  protectClosed: "breaker.protect, Closed",
  protectPiped: "breaker.protect, Closed, piped per call",
  sync: "yield* Effect.sync(f)",
  protectSync: "breaker.protect(Effect.sync(f)), Closed",
  orElse: "Fallback.orElse, success, no breaker",
  orElseClosed: "Fallback.orElse + breaker, Closed, success",
  protectOpen: "breaker.protect, Open, rejection caught",
  orElseOpen: "Fallback.orElse + breaker, Open -> fallback",
  builtinClosed: "effect/persistence CircuitBreaker, Closed",
  builtinOpen: "effect/persistence CircuitBreaker, Open -> fallback",
  streamBare: "Stream.runDrain (baseline)",
  streamFallback: "Fallback.stream(Stream.empty)",
  streamProtect: "breaker.protectStream",
  streamFallbackBreaker: "Fallback.stream(Stream.empty, { breaker })",
  streamMapArray: "reference: Stream.mapArray(identity)",
  streamCatch: "reference: Stream.catch(() => Stream.empty)",
  streamOnExit: "reference: Stream.onExit(() => Effect.void)"
} as const

class BenchBreaker extends CircuitBreaker.Service<BenchBreaker>()("bench/BenchBreaker") {}

class Boom {
  readonly _tag = "Boom"
}
const boom = new Boom()

const ITEMS = 1_000_000

/** Builds a layer into a scope that lives until the suite closes. */
export const build = async <A, E>(layer: Layer.Layer<A, E>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return { context, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const expect = async (label: string, effect: Effect.Effect<unknown, unknown>, expected: unknown): Promise<void> => {
  const value = await Effect.runPromise(effect)
  if (value !== expected) throw new Error(`${label}: expected ${String(expected)}, got ${String(value)}`)
}

const targets: ReadonlyArray<Target> = [
  {
    label: "Closed breaker.protect at most 4x the bare step",
    measure: (r) => r.ratio(CALLS, names.protectClosed, CALLS, names.bare),
    compare: "<=",
    limit: 4,
    unit: "x"
  },
  {
    label: "Closed breaker.protect faster than opossum 10 (time ratio)",
    measure: (r) => r.ratio(CALLS, names.protectClosed, PROMISE, peer.opossumClosed),
    compare: "<=",
    limit: 1,
    unit: "x"
  },
  {
    label: "Closed breaker.protect faster than effect/persistence CircuitBreaker (time ratio)",
    measure: (r) => r.ratio(CALLS, names.protectClosed, CALLS, names.builtinClosed),
    compare: "<=",
    limit: 1,
    unit: "x"
  },
  // Against cockatiel, each world's cheapest step is the same price (`yield* Effect.succeed(1)`, `await f()`), so the
  // time ratio of the first row compares the breakers. But a finished step takes our fast path (nothing to run),
  // while cockatiel always calls and awaits `f`: the like-with-like row runs a function per call in both worlds, and
  // compares the time each breaker adds to its own world's unprotected step (`Effect.sync(f)` costs about twice an
  // `await f()`, a cost of the Effect runtime that no breaker adds or removes).
  {
    label: "Closed breaker.protect at most cockatiel 4's time (time ratio; a finished step)",
    measure: (r) => r.ratio(CALLS, names.protectClosed, PROMISE, peer.cockatielClosed),
    compare: "<=",
    limit: 1,
    unit: "x"
  },
  {
    label: "like with like: Closed breaker.protect(Effect.sync(f)) adds at most what cockatiel 4 adds to await f()",
    measure: (r) =>
      quotient(added(r, CALLS, names.protectSync, names.sync), added(r, PROMISE, peer.cockatielClosed, peer.bare)),
    compare: "<=",
    limit: 1,
    unit: "x"
  },
  {
    label: "Open rejection (breaker.protect, rejection caught) under 1 us",
    measure: (r) => r.ns(CALLS, names.protectOpen),
    compare: "<=",
    limit: 1000,
    unit: "ns"
  },
  {
    label: "Open rejection into a fallback (Fallback.orElse + breaker) under 2 us",
    measure: (r) => r.ns(CALLS, names.orElseOpen),
    compare: "<=",
    limit: 2000,
    unit: "ns"
  },
  {
    label: "Fallback.stream throughput at least 0.95x the bare stream",
    measure: (r) => inverse(r.ratio(STREAMS, names.streamFallback, STREAMS, names.streamBare)),
    compare: ">=",
    limit: 0.95,
    unit: "x"
  },
  {
    label: "breaker.protectStream throughput at least 0.95x the bare stream",
    measure: (r) => inverse(r.ratio(STREAMS, names.streamProtect, STREAMS, names.streamBare)),
    compare: ">=",
    limit: 0.95,
    unit: "x"
  }
]

const inverse = (ratio: number | undefined) => (ratio === undefined ? undefined : 1 / ratio)

/** Nanoseconds a row adds to another row of its suite (medians). */
const added = (r: Results, suite: string, row: string, base: string): number | undefined => {
  const a = r.ns(suite, row)
  const b = r.ns(suite, base)
  return a === undefined || b === undefined ? undefined : a - b
}

const quotient = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a / b

const callSuite = async (): Promise<Suite> => {
  const ours = await build(CircuitBreaker.layer(BenchBreaker, { failureThreshold: 5, resetTimeout: "60 seconds" }))
  const builtin = await build(
    EffectBreaker.layer({ tripPolicy: EffectBreaker.consecutive(5), openDuration: "1 hour" }).pipe(
      Layer.provide(EffectBreaker.layerStoreMemory())
    )
  )
  const breaker = Context.get(ours.context, BenchBreaker)
  const builtinBreaker = Context.get(builtin.context, EffectBreaker.CircuitBreaker)

  await Effect.runPromise(breaker.open("open"))
  // Five counted failures open the built-in circuit for an hour (it has no forced open).
  for (let i = 0; i < 5; i++) {
    await Effect.runPromise(Effect.exit(Effect.fail(boom).pipe(builtinBreaker.execute({ key: "open" }))))
  }

  // `Effect.succeed(1)` is already an Exit, which a combinator may settle without running a fiber step; a step that
  // must run (Effect.sync) shows the path an I/O call takes.
  const step = Effect.succeed(1)
  const syncStep = Effect.sync(() => 1)
  const protectClosed = step.pipe(breaker.protect("closed"))
  const orElse = step.pipe(Fallback.orElse(Effect.succeed(2)))
  const orElseClosed = step.pipe(Fallback.orElse(Effect.succeed(2), { breaker: BenchBreaker, id: "closed" }))
  const protectOpen = step.pipe(
    breaker.protect("open"),
    Effect.catchTag("CircuitOpenError", () => Effect.succeed(2))
  )
  const orElseOpen = Effect.fail(boom).pipe(Fallback.orElse(Effect.succeed(1), { breaker: BenchBreaker, id: "open" }))
  const builtinClosed = step.pipe(builtinBreaker.execute({ key: "closed" }))
  const builtinOpen = Effect.fail(boom).pipe(
    builtinBreaker.execute({ key: "open" }),
    Effect.catch(() => Effect.succeed(1))
  )

  // Each Open row must really take the rejection path: a primary answering 0 can only turn into 1 through it.
  const zero = Effect.succeed(0)
  await expect(
    "our Open circuit",
    zero.pipe(
      breaker.protect("open"),
      Effect.catchTag("CircuitOpenError", () => Effect.succeed(1))
    ),
    1
  )
  await expect(
    "our Open circuit through Fallback.orElse",
    Effect.provideContext(
      zero.pipe(Fallback.orElse(Effect.succeed(1), { breaker: BenchBreaker, id: "open" })),
      ours.context
    ),
    1
  )
  await expect(
    "built-in Open circuit",
    zero.pipe(
      builtinBreaker.execute({ key: "open" }),
      Effect.catch(() => Effect.succeed(1))
    ),
    1
  )

  return {
    name: CALLS,
    description: "`for (…) yield* step` inside one Effect.gen, run with Effect.runPromise; each step is built once.",
    unit: "call",
    baseline: names.bare,
    cases: [
      effectLoop(names.bare, step),
      effectLoop(names.protectClosed, protectClosed),
      effectProgram(names.protectPiped, (n) =>
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* Effect.succeed(i).pipe(breaker.protect("closed"))
        })
      ),
      effectLoop(names.sync, syncStep),
      effectLoop(names.protectSync, syncStep.pipe(breaker.protect("closed"))),
      effectLoop(names.orElse, orElse),
      effectLoop(names.orElseClosed, orElseClosed, ours.context),
      effectLoop(names.protectOpen, protectOpen),
      effectLoop(names.orElseOpen, orElseOpen, ours.context),
      effectLoop(names.builtinClosed, builtinClosed),
      effectLoop(names.builtinOpen, builtinOpen)
    ],
    targets,
    close: async () => {
      await ours.close()
      await builtin.close()
    }
  }
}

const streamSuite = async (): Promise<Suite> => {
  const ours = await build(CircuitBreaker.layer(BenchBreaker, { failureThreshold: 5, resetTimeout: "60 seconds" }))
  const breaker = Context.get(ours.context, BenchBreaker)
  const range = Stream.range(1, ITEMS)
  return {
    name: STREAMS,
    description: "One operation drains the whole range (chunks of 4,096); rows compared by items per second.",
    unit: "item",
    itemsPerOp: ITEMS,
    baseline: names.streamBare,
    cases: [
      streamDrain(names.streamBare, range),
      streamDrain(names.streamFallback, range.pipe(Fallback.stream(Stream.empty))),
      streamDrain(names.streamProtect, range.pipe(breaker.protectStream("stream"))),
      streamDrain(
        names.streamFallbackBreaker,
        range.pipe(Fallback.stream(Stream.empty, { breaker: BenchBreaker, id: "stream" })),
        ours.context
      ),
      // What one extra stage costs, per chunk of 4,096 items, for reading the rows above.
      streamDrain(names.streamMapArray, range.pipe(Stream.mapArray((chunk) => chunk))),
      streamDrain(names.streamCatch, range.pipe(Stream.catch(() => Stream.empty))),
      streamDrain(names.streamOnExit, range.pipe(Stream.onExit(() => Effect.void)))
    ],
    close: ours.close
  }
}

export const suites = [callSuite, streamSuite]

export const memory: ReadonlyArray<MemoryProbe> = [
  {
    name: "effect-fallback CircuitBreaker, circuits",
    count: 10_000,
    prepare: async (count) => {
      const ours = await build(CircuitBreaker.layer(BenchBreaker))
      const breaker = Context.get(ours.context, BenchBreaker)
      const step = Effect.succeed(1)
      const fill = Effect.gen(function* () {
        for (let i = 0; i < count; i++) yield* step.pipe(breaker.protect(`circuit-${i}`))
      })
      return { fill: () => Effect.runPromise(fill), release: ours.close }
    }
  }
]
