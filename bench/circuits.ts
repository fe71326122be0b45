// The breaker at scale: heap per circuit at 1e3 / 1e5 / 1e6 circuits, a hot circuit's Closed call with 1e6 circuits
// present against the same call with 1e3, and the peak heap while 1e7 distinct ids stream through one domain under
// the default cap (`maxCircuits`). Each against its goal (issue 12).
import { Context, Effect } from "effect"
import { CircuitBreaker } from "effect-fallback"
import { build } from "./core.ts"
import {
  effectLoop,
  effectProgram,
  type FigureProbe,
  type MemoryProbe,
  settings,
  type Suite,
  type Target
} from "./harness.ts"

export const SCALE = "breaker at scale: a hot circuit's Closed call beside other circuits"

const quick = settings(process.env).quick
const SMALL = 1_000
const LARGE = quick ? 100_000 : 1_000_000

export const names = {
  small: `breaker.protect, Closed, ${SMALL.toLocaleString("en")} circuits present (baseline)`,
  large: `breaker.protect, Closed, ${LARGE.toLocaleString("en")} circuits present`,
  smallPiped: `breaker.protect(id) per call, Closed, ${SMALL.toLocaleString("en")} circuits present`,
  largePiped: `breaker.protect(id) per call, Closed, ${LARGE.toLocaleString("en")} circuits present`
} as const

class ScaleBreaker extends CircuitBreaker.Service<ScaleBreaker>()("bench/ScaleBreaker") {}

const step = Effect.succeed(1)

/** `count` circuits, `prefix-0` to `prefix-(count-1)`, each used once. */
const fill = (breaker: CircuitBreaker.CircuitBreaker, count: number, prefix = "circuit") =>
  Effect.gen(function* () {
    for (let i = 0; i < count; i++) yield* step.pipe(breaker.protect(`${prefix}-${i}`))
  })

/** A breaker of the default configuration holding `count` circuits (the cap raised to hold them all). */
const filled = async (count: number) => {
  const built = await build(CircuitBreaker.layer(ScaleBreaker, { maxCircuits: Math.max(count + 1, 100_000) }))
  const breaker = Context.get(built.context, ScaleBreaker)
  await Effect.runPromise(fill(breaker, count))
  return { breaker, close: built.close }
}

const targets: ReadonlyArray<Target> = [
  {
    label: `hot Closed call with ${LARGE.toLocaleString("en")} circuits within 1.2x of ${SMALL.toLocaleString("en")}`,
    measure: (r) => r.ratio(SCALE, names.large, SCALE, names.small),
    compare: "<=",
    limit: 1.2,
    unit: "x"
  }
]

const scaleSuite = async (): Promise<Suite> => {
  const small = await filled(SMALL)
  const large = await filled(LARGE)
  const hot = (breaker: CircuitBreaker.CircuitBreaker) => step.pipe(breaker.protect("hot"))
  const piped = (breaker: CircuitBreaker.CircuitBreaker) => (n: number) =>
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* step.pipe(breaker.protect("hot"))
    })
  return {
    name: SCALE,
    description:
      "Both breakers live through the whole run (one heap for all rows): the ratio is the cost of the circuits " +
      "beside the hot one, not of a bigger heap.",
    unit: "call",
    baseline: names.small,
    cases: [
      effectLoop(names.small, hot(small.breaker)),
      effectLoop(names.large, hot(large.breaker)),
      effectProgram(names.smallPiped, piped(small.breaker)),
      effectProgram(names.largePiped, piped(large.breaker))
    ],
    targets,
    close: async () => {
      await small.close()
      await large.close()
    }
  }
}

export const suites = [scaleSuite]

const probe = (count: number): MemoryProbe => ({
  name: `CircuitBreaker, idle circuits, ${count.toLocaleString("en")} in one domain`,
  count,
  fixed: true,
  goalBytes: 500,
  prepare: async (count) => {
    const built = await build(CircuitBreaker.layer(ScaleBreaker, { maxCircuits: Math.max(count, 100_000) }))
    const breaker = Context.get(built.context, ScaleBreaker)
    return { fill: () => Effect.runPromise(fill(breaker, count)), release: built.close }
  }
})

export const memory: ReadonlyArray<MemoryProbe> = [probe(1_000), probe(100_000), probe(1_000_000)]

const gc: () => void = typeof globalThis.gc === "function" ? globalThis.gc : () => {}
const retained = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/**
 * 1e7 distinct ids (BENCH_QUICK: 3e5), each used once, through one breaker of the default configuration: the heap
 * retained after each tenth of the run, against the heap retained once the breaker first reached its cap.
 */
const streamed: FigureProbe = {
  name: "CircuitBreaker, distinct ids streamed through one domain under the default cap",
  measure: async (quick) => {
    const total = quick ? 300_000 : 10_000_000
    const built = await build(CircuitBreaker.layer(ScaleBreaker))
    const breaker = Context.get(built.context, ScaleBreaker)
    const base = retained()
    const cap = 100_000
    await Effect.runPromise(fill(breaker, cap, "first"))
    const atCap = retained() - base
    let peak = atCap
    const tenth = (total - cap) / 10
    for (let part = 0; part < 10; part++) {
      await Effect.runPromise(fill(breaker, tenth, `part${part}`))
      peak = Math.max(peak, retained() - base)
    }
    const held = (await Effect.runPromise(breaker.circuits)).length
    await built.close()
    return [
      {
        what: `peak retained heap over ${total.toLocaleString("en")} ids`,
        measured: `${mib(peak)} (${mib(atCap)} at the cap)`,
        goal: "within 1.25x of the heap at the cap",
        met: peak <= 1.25 * atCap
      },
      {
        what: "circuits held at the end",
        measured: held.toLocaleString("en"),
        goal: `the cap, ${cap.toLocaleString("en")}`,
        met: held === cap
      }
    ]
  }
}

export const figures: ReadonlyArray<FigureProbe> = [streamed]
