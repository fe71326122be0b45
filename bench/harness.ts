// The benchmark harness: suites of cases measured in one process, interleaved round-robin across every suite so that
// a burst of noise on a shared machine hits all rows alike, reported as medians and as ratios against a baseline row
// measured in the same rounds.
//
// A suite file is any bench/*.ts other than run.ts and harness.ts (and names starting with "_"). It may export:
//   - `suite` or `suites`: a Suite, or a function returning one (possibly async, to build layers or servers first);
//   - `memory`: an array of MemoryProbe (heap retained per N things, measured with the GC exposed).
// run.ts imports every such file; a file that fails to import or to set up is reported as skipped, not fatal.
import { Context, Effect, Stream } from "effect"

/** One row of a suite: `make(n)` returns a runner performing `n` operations (calls, or whole stream drains). */
export interface Case {
  readonly name: string
  readonly make: (n: number) => () => unknown
}

/** What a target compares: the value measured in this run, against `limit`. */
export interface Target {
  readonly label: string
  readonly measure: (results: Results) => number | undefined
  readonly compare: "<=" | ">="
  readonly limit: number
  /** How the value prints: a time ratio ("2.10x"), a throughput ratio, or nanoseconds. */
  readonly unit: "x" | "ns"
  /** An aim rather than a requirement: printed as AIM-PASS / AIM-MISS. */
  readonly aim?: boolean
}

export interface Suite {
  readonly name: string
  /** One line printed under the table's title. */
  readonly description?: string
  /** "call": one operation is one call (printed in ns/call); "item": one operation drains `itemsPerOp` items. */
  readonly unit: "call" | "item"
  readonly itemsPerOp?: number
  /** The name of the case every other row of this suite is compared with. */
  readonly baseline: string
  readonly cases: ReadonlyArray<Case>
  readonly targets?: ReadonlyArray<Target>
  readonly close?: () => unknown
}

export type SuiteExport = Suite | (() => Suite | Promise<Suite>)

/** Heap retained per thing: `prepare(count)` builds the container, `fill` adds `count` things to it. */
export interface MemoryProbe {
  readonly name: string
  /** How many things a full run adds; BENCH_QUICK caps it (and a full run too, unless `fixed`). */
  readonly count: number
  /** A scale probe: a full run adds `count` things whatever `memoryCount` says. */
  readonly fixed?: boolean
  /** The retained heap per thing aimed at, printed beside the figure. */
  readonly goalBytes?: number
  readonly prepare: (
    count: number
  ) => Promise<{ readonly fill: () => Promise<void>; readonly release: () => Promise<void> }>
}

/**
 * Figures a probe measures itself at a given scale (a count of series, a scrape's time and size), each printed against
 * its goal. A suite file exports them as `figures`.
 */
export interface FigureProbe {
  readonly name: string
  /** `quick`: BENCH_QUICK, scale down. */
  readonly measure: (quick: boolean) => Promise<ReadonlyArray<Figure>>
}

export interface Figure {
  readonly what: string
  readonly measured: string
  readonly goal?: string | undefined
  /** Whether the goal is met, when it can be told from the figure. */
  readonly met?: boolean | undefined
}

/** Lookups into the measurements of the whole run, for targets. */
export interface Results {
  /** Median nanoseconds per operation of a row. */
  readonly ns: (suite: string, name: string) => number | undefined
  /** Median over rounds of (row's sample / other row's sample in the same round): a time ratio, any two suites. */
  readonly ratio: (suite: string, name: string, otherSuite: string, otherName: string) => number | undefined
}

export interface Settings {
  readonly quick: boolean
  /** Measured samples per row (after one warmup round). */
  readonly samples: number
  /** Wall time aimed at per sample, in milliseconds; the operation count of each row is calibrated to it. */
  readonly sampleMillis: number
  readonly memoryCount: number
}

export const settings = (env: NodeJS.ProcessEnv): Settings => {
  const quick = env.BENCH_QUICK === "1"
  const number = (name: string, fallback: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === "") return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`)
    return value
  }
  return {
    quick,
    samples: Math.round(number("BENCH_SAMPLES", quick ? 3 : 35)),
    sampleMillis: number("BENCH_SAMPLE_MS", quick ? 15 : 60),
    memoryCount: quick ? 1_000 : 10_000
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Case builders

/**
 * A row whose operation is `yield* step` inside one `Effect.gen` loop, run with `Effect.runPromise`. The program is
 * built once per calibrated size, so the per-operation cost is the step alone. `context` provides services to the
 * whole loop (never per step).
 */
export const effectLoop: {
  (name: string, step: Effect.Effect<unknown, unknown, never>): Case
  <R>(name: string, step: Effect.Effect<unknown, unknown, R>, context: Context.Context<R>): Case
} = <R>(name: string, step: Effect.Effect<unknown, unknown, R>, context?: Context.Context<R>): Case =>
  effectProgram(
    name,
    (n) =>
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* step
      }),
    context
  )

/** A row whose program for `n` operations is built by `program`, run with `Effect.runPromise`. */
export const effectProgram = <R>(
  name: string,
  program: (n: number) => Effect.Effect<unknown, unknown, R>,
  context?: Context.Context<R>
): Case => ({
  name,
  make: (n) => {
    const built =
      context === undefined
        ? (program(n) as Effect.Effect<unknown, unknown>)
        : Effect.provideContext(program(n), context)
    return () => Effect.runPromise(built)
  }
})

/** A row whose operation is `await call()` inside one async loop: the promise world of cockatiel and opossum. */
export const promiseLoop = (name: string, call: () => PromiseLike<unknown>): Case => ({
  name,
  make: (n) => async () => {
    for (let i = 0; i < n; i++) await call()
  }
})

/** A row whose operation drains `stream` to its end with `Stream.runDrain`. */
export const streamDrain = <R>(
  name: string,
  stream: Stream.Stream<unknown, unknown, R>,
  context?: Context.Context<R>
): Case =>
  effectProgram(
    name,
    (n) =>
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* Stream.runDrain(stream)
      }),
    context
  )

// ---------------------------------------------------------------------------------------------------------------
// Measuring

const gc: () => void = typeof globalThis.gc === "function" ? globalThis.gc : () => {}

// No forced collection before a sample: a full `gc()` shrinks the young generation, and the sample after it paid
// for the extra scavenges (a rejection measured ~1.5x slower after one). Interleaving spreads the GC debt instead.
const time = async (runner: () => unknown): Promise<number> => {
  const started = process.hrtime.bigint()
  const result = runner()
  if (result !== null && typeof result === "object" && "then" in result) await result
  return Number(process.hrtime.bigint() - started)
}

interface Row {
  readonly suite: Suite
  readonly case: Case
  runner: () => unknown
  n: number
  /** Nanoseconds per operation of each measured round; NaN for a round in which the row failed. */
  readonly samples: Array<number>
  error: string | undefined
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Finds the operation count whose run takes about `millis`: grows `n` until a run lasts a few milliseconds, then
 * rescales twice, since the first runs are slower (the code is still being compiled).
 */
const calibrate = async (row: Row, millis: number): Promise<void> => {
  let n = 1
  let elapsed = await time(row.case.make(n))
  while (elapsed < Math.min(millis, 5) * 1e6 && n < 1 << 30) {
    n *= elapsed < 1e5 ? 16 : 2
    elapsed = await time(row.case.make(n))
  }
  for (let pass = 0; pass < 2; pass++) {
    n = Math.max(1, Math.round((n * (millis * 1e6)) / elapsed))
    row.runner = row.case.make(n)
    elapsed = await time(row.runner)
  }
  row.n = n
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const quantile = (values: ReadonlyArray<number>, q: number): number => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const position = (sorted.length - 1) * q
  const low = Math.floor(position)
  const high = Math.ceil(position)
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low)
}

export interface Report {
  readonly rows: ReadonlyArray<Row>
  readonly results: Results
}

/** Measures every case of every suite: calibration, one warmup round, then `samples` rounds of one sample per row. */
export const measure = async (
  suites: ReadonlyArray<Suite>,
  config: Settings,
  progress: (line: string) => void
): Promise<Report> => {
  const rows: Array<Row> = suites.flatMap((suite) =>
    suite.cases.map((c): Row => ({ suite, case: c, runner: () => undefined, n: 0, samples: [], error: undefined }))
  )
  for (const row of rows) {
    try {
      await calibrate(row, config.sampleMillis)
    } catch (error) {
      row.error = describe(error)
    }
  }
  const live = () => rows.filter((row) => row.error === undefined)
  progress(`calibrated ${live().length} rows; ${config.samples} rounds of ~${config.sampleMillis} ms per row`)
  for (let round = -1; round < config.samples; round++) {
    for (const row of roundOrder(suites, live(), Math.max(round, 0))) {
      try {
        const elapsed = await time(row.runner)
        if (round >= 0) row.samples.push(elapsed / row.n)
      } catch (error) {
        row.error = describe(error)
      }
    }
    if (round >= 0) progress(`round ${round + 1}/${config.samples}`)
  }
  return { rows, results: resultsOf(rows) }
}

/**
 * The rows of one round: each suite's rows run back to back, so a row and its baseline are sampled moments apart,
 * and both the order of the suites and the order of the rows inside each suite rotate from round to round.
 */
const roundOrder = (suites: ReadonlyArray<Suite>, rows: ReadonlyArray<Row>, round: number): Array<Row> => {
  const rotate = <A>(items: ReadonlyArray<A>): Array<A> => items.map((_, i) => items[(i + round) % items.length])
  return rotate(suites).flatMap((suite) => rotate(rows.filter((row) => row.suite === suite)))
}

const resultsOf = (rows: ReadonlyArray<Row>): Results => {
  const find = (suite: string, name: string) =>
    rows.find((row) => row.suite.name === suite && row.case.name === name && row.error === undefined)
  return {
    ns: (suite, name) => {
      const row = find(suite, name)
      return row === undefined ? undefined : median(row.samples)
    },
    ratio: (suite, name, otherSuite, otherName) => {
      const row = find(suite, name)
      const other = find(otherSuite, otherName)
      if (row === undefined || other === undefined) return undefined
      const count = Math.min(row.samples.length, other.samples.length)
      const ratios: Array<number> = []
      for (let i = 0; i < count; i++) ratios.push(row.samples[i] / other.samples[i])
      return median(ratios)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Printing

const formatNs = (ns: number): string =>
  Number.isNaN(ns)
    ? "-"
    : ns >= 1e6
      ? `${(ns / 1e6).toFixed(2)} ms`
      : ns >= 1e4
        ? `${(ns / 1e3).toFixed(1)} us`
        : ns >= 1e3
          ? `${(ns / 1e3).toFixed(2)} us`
          : ns >= 100
            ? `${Math.round(ns)} ns`
            : `${ns.toFixed(1)} ns`

const formatRatio = (ratio: number): string => `${ratio.toFixed(ratio < 0.1 ? 3 : 2)}x`

const formatRate = (perSecond: number): string =>
  perSecond >= 1e6
    ? `${(perSecond / 1e6).toFixed(perSecond >= 1e8 ? 0 : 1)} M`
    : perSecond >= 1e3
      ? `${(perSecond / 1e3).toFixed(1)} k`
      : perSecond.toFixed(0)

/** A markdown table; the first `leftColumns` columns are left-aligned, the rest (figures) right-aligned. */
const table = (header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>, leftColumns = 1): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i].length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, i) => (i < leftColumns ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(" | ")} |`
  const rule = `| ${widths.map((w, i) => (i < leftColumns ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`
  return [line(header), rule, ...body.map(line)].join("\n")
}

/** One markdown table per suite: medians, spread (interquartile range over median) and the ratio to the baseline. */
export const printSuite = (suite: Suite, report: Report): string => {
  const rows = report.rows.filter((row) => row.suite === suite)
  const items = suite.itemsPerOp ?? 1
  const body = rows.map((row): Array<string> => {
    if (row.error !== undefined) return [row.case.name, "failed", "", "", row.error.slice(0, 60)]
    const ns = median(row.samples)
    const spread = (quantile(row.samples, 0.75) - quantile(row.samples, 0.25)) / ns
    const ratio = report.results.ratio(suite.name, row.case.name, suite.name, suite.baseline)
    const shown = ratio === undefined ? Number.NaN : suite.unit === "item" ? 1 / ratio : ratio
    return [
      row.case.name,
      formatNs(ns / items),
      `${formatRate((1e9 * items) / ns)}/s`,
      `±${(spread * 50).toFixed(1)}%`,
      Number.isNaN(shown) ? "-" : formatRatio(shown)
    ]
  })
  const header =
    suite.unit === "item"
      ? ["row", "ns/item", "items/s", "spread", "throughput vs baseline"]
      : ["row", "ns/call", "calls/s", "spread", "time vs baseline"]
  const title = `## ${suite.name}${suite.description === undefined ? "" : `\n${suite.description}`}`
  return `${title}\n\n${table(header, body)}\n(baseline: ${suite.baseline}; ${
    rows[0]?.samples.length ?? 0
  } samples per row, medians; spread = half the interquartile range)`
}

export interface TargetOutcome {
  readonly target: Target
  readonly value: number | undefined
  readonly verdict: "PASS" | "MISS" | "AIM-PASS" | "AIM-MISS" | "N/A"
}

export const evaluate = (targets: ReadonlyArray<Target>, results: Results): Array<TargetOutcome> =>
  targets.map((target) => {
    const value = target.measure(results)
    if (value === undefined || Number.isNaN(value)) return { target, value, verdict: "N/A" }
    const met = target.compare === "<=" ? value <= target.limit : value >= target.limit
    const verdict = target.aim === true ? (met ? "AIM-PASS" : "AIM-MISS") : met ? "PASS" : "MISS"
    return { target, value, verdict }
  })

export const printTargets = (outcomes: ReadonlyArray<TargetOutcome>): string => {
  const show = (value: number | undefined, unit: Target["unit"]) =>
    value === undefined ? "not measured" : unit === "ns" ? formatNs(value) : formatRatio(value)
  const body = outcomes.map(({ target, value, verdict }) => [
    verdict,
    target.label,
    show(value, target.unit),
    `${target.compare} ${show(target.limit, target.unit)}`
  ])
  return `## Targets\n\n${table(["verdict", "target", "measured", "limit"], body, 2)}`
}

// ---------------------------------------------------------------------------------------------------------------
// Memory

export interface MemoryOutcome {
  readonly probe: MemoryProbe
  readonly bytesPerThing: number | undefined
  readonly error?: string
}

/** Heap retained per thing: median of three measurements, each between two full collections. */
export const measureMemory = async (probes: ReadonlyArray<MemoryProbe>): Promise<Array<MemoryOutcome>> => {
  if (typeof globalThis.gc !== "function") return probes.map((probe) => ({ probe, bytesPerThing: undefined }))
  const outcomes: Array<MemoryOutcome> = []
  for (const probe of probes) {
    try {
      const perThing: Array<number> = []
      for (let attempt = 0; attempt < 3; attempt++) {
        const subject = await probe.prepare(probe.count)
        gc()
        gc()
        const before = process.memoryUsage().heapUsed
        await subject.fill()
        gc()
        gc()
        const after = process.memoryUsage().heapUsed
        await subject.release()
        perThing.push((after - before) / probe.count)
      }
      outcomes.push({ probe, bytesPerThing: median(perThing) })
    } catch (error) {
      outcomes.push({ probe, bytesPerThing: undefined, error: describe(error) })
    }
  }
  return outcomes
}

export const printMemory = (outcomes: ReadonlyArray<MemoryOutcome>): string => {
  const body = outcomes.map(({ probe, bytesPerThing, error }) => [
    probe.name,
    String(probe.count),
    bytesPerThing === undefined ? (error ?? "needs --expose-gc") : `${Math.round(bytesPerThing)} B`,
    bytesPerThing === undefined ? "" : `${((bytesPerThing * probe.count) / 1024 / 1024).toFixed(2)} MiB`,
    probe.goalBytes === undefined
      ? ""
      : `< ${probe.goalBytes} B: ${bytesPerThing !== undefined && bytesPerThing < probe.goalBytes ? "PASS" : "MISS"}`
  ])
  return `## Memory (heap retained, median of 3)\n\n${table(["what", "count", "per thing", "total", "goal"], body)}`
}

/** Runs each probe in turn; a probe that throws is reported on its row. */
export const measureFigures = async (
  probes: ReadonlyArray<FigureProbe>,
  quick: boolean
): Promise<
  Array<{ readonly probe: FigureProbe; readonly figures: ReadonlyArray<Figure>; readonly error?: string }>
> => {
  const outcomes = []
  for (const probe of probes) {
    try {
      outcomes.push({ probe, figures: await probe.measure(quick) })
    } catch (error) {
      outcomes.push({ probe, figures: [], error: describe(error) })
    }
  }
  return outcomes
}

export const printFigures = (
  outcomes: ReadonlyArray<{
    readonly probe: FigureProbe
    readonly figures: ReadonlyArray<Figure>
    readonly error?: string
  }>
): string => {
  const body = outcomes.flatMap(({ error, figures, probe }) =>
    error !== undefined
      ? [[probe.name, "failed", error, "", ""]]
      : figures.map((figure) => [
          probe.name,
          figure.what,
          figure.measured,
          figure.goal ?? "",
          figure.met === undefined ? "" : figure.met ? "PASS" : "MISS"
        ])
  )
  return `## Figures\n\n${table(["probe", "what", "measured", "goal", "verdict"], body)}`
}

/** Measures `suites` alone with the shared harness and prints their tables and `targets`: a suite file run directly. */
export const runStandalone = async (
  suites: ReadonlyArray<() => Suite | Promise<Suite>>,
  targets: ReadonlyArray<Target>
): Promise<void> => {
  const config = settings(process.env)
  const built = await Promise.all(suites.map((suite) => suite()))
  const report = await measure(built, config, (line) => console.error(`[bench] ${line}`))
  for (const suite of built) console.log(`${printSuite(suite, report)}\n`)
  for (const suite of built) await suite.close?.()
  console.log(printTargets(evaluate(targets, report.results)))
}
