// The breaker's metric series at scale: one breaker with 1e3 / 1e5 / 1e6 circuits (default options, the cap of
// circuits raised to hold them all, one call per id), its series counted and scraped as Prometheus text (Effect's
// `PrometheusMetrics.format`) from its own registry.
// The goal of issue 12: a number of series with a cap independent of the number of ids, and a scrape that stays
// bounded with it (before: 6 series per circuit, 48 MiB of text in 2.8 s at 1e5 circuits, out of memory at 1e6).
import { Context, Effect, Exit, Layer, Metric, Scope } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { CircuitBreaker } from "effect-fallback"
import type { Figure, FigureProbe } from "./harness.ts"

class ScaleBreaker extends CircuitBreaker.Service<ScaleBreaker>()("bench/ScaleBreaker") {}

/** Samples a breaker exports at most: 31 for the domain, 13 for each circuit with series of its own (100 by default). */
const CAP = 31 + 13 * 100

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

interface Scrape {
  readonly series: number
  readonly bytes: number
  readonly millis: number
  readonly closed: string | undefined
}

/** A breaker with `count` circuits in a registry of its own, scraped nine times (the median time). */
const scrapeAt = (count: number): Promise<Scrape> => {
  const registry: Metric.MetricRegistry = new Map()
  return Effect.gen(function* () {
    const scope = yield* Scope.make()
    // The cap raised to hold every circuit (the default keeps 100,000).
    const context = yield* Layer.buildWithScope(CircuitBreaker.layer(ScaleBreaker, { maxCircuits: count }), scope)
    const breaker = Context.get(context, ScaleBreaker)
    const step = Effect.succeed(1)
    for (let i = 0; i < count; i++) yield* step.pipe(breaker.protect(`user-${i}`))
    let text = ""
    const times: Array<number> = []
    for (let attempt = 0; attempt < 9; attempt++) {
      // A full collection first, so a scrape is not charged with the garbage of building the circuits.
      globalThis.gc?.()
      const start = performance.now()
      text = yield* PrometheusMetrics.format()
      times.push(performance.now() - start)
    }
    const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"))
    const closed = samples.find((line) =>
      line.startsWith(`circuit_breaker_circuits{domain="bench/ScaleBreaker",state="Closed"}`)
    )
    yield* Scope.close(scope, Exit.void)
    return {
      series: samples.length,
      bytes: Buffer.byteLength(text),
      millis: median(times),
      closed: closed?.slice(closed.lastIndexOf(" ") + 1)
    }
  }).pipe(Effect.provideService(Metric.MetricRegistry, registry), Effect.runPromise)
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

export const figures: ReadonlyArray<FigureProbe> = [
  {
    name: "CircuitBreaker metric series and Prometheus scrape",
    measure: async (quick) => {
      const rows: Array<Figure> = []
      const scales = quick ? [1_000, 10_000] : [1_000, 100_000, 1_000_000]
      await scrapeAt(100) // warms the code up, so the first scale is not charged with compiling it
      let first: Scrape | undefined = undefined
      for (const count of scales) {
        const scrape = await scrapeAt(count)
        first ??= scrape
        const label = count.toExponential(0).replace("+", "")
        rows.push(
          {
            what: `series at ${label} circuits`,
            measured: String(scrape.series),
            goal: `<= ${CAP} whatever the count (before: 6 per circuit)`,
            met: scrape.series <= CAP
          },
          {
            what: `scrape at ${label} circuits`,
            measured: `${scrape.millis.toFixed(2)} ms, ${kib(scrape.bytes)} (${(scrape.millis / first.millis).toFixed(2)}x the 1e3 scrape)`,
            goal: "bounded (before: 2.8 s and 48 MiB at 1e5, out of memory at 1e6)",
            met: scrape.bytes <= first.bytes * 1.1
          },
          {
            what: `circuits{state="Closed"} at ${label} circuits`,
            measured: scrape.closed ?? "missing",
            goal: String(count),
            met: scrape.closed === String(count)
          }
        )
      }
      return rows
    }
  }
]
