// `npm run bench`: imports every suite file in bench/, measures all their rows in one process (interleaved), prints
// one table per suite, the memory probes and the targets. Exits 0 even when a target is missed: a benchmark reports,
// it does not gate. Environment:
//   BENCH_QUICK=1        a smoke run (3 short samples per row, 1,000 things per memory probe)
//   BENCH_FILTER=word    only the suite files whose name contains `word` (e.g. "peers")
//   BENCH_ONLY=text      only the rows (and memory probes) whose name contains `text`, case-insensitive; for profiling
//                        one row: `BENCH_ONLY="protect, Closed" node --cpu-prof bench/run.ts`
//   BENCH_SAMPLES=n, BENCH_SAMPLE_MS=ms   samples per row and the time aimed at per sample
//   BENCH_DUMP=1         every raw sample on stderr
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import {
  evaluate,
  type FigureProbe,
  measure,
  measureFigures,
  measureMemory,
  type MemoryProbe,
  printFigures,
  printMemory,
  printSuite,
  printTargets,
  settings,
  type Suite,
  type SuiteExport
} from "./harness.ts"

// Memory probes need a full collection between readings.
if (typeof globalThis.gc !== "function") {
  const child = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit"
  })
  process.exit(child.status ?? 1)
}

// Logs of setup and measured code (Effect's default logger writes with console.log) go to stderr, keeping stdout
// for the report: `npm run bench > report.md` gives the tables alone.
const report = (line: string) => process.stdout.write(`${line}\n`)
console.log = console.info = console.warn = console.debug = console.error

const config = settings(process.env)
const benchDir = new URL(".", import.meta.url).pathname
const filter = process.env.BENCH_FILTER ?? ""
const files = readdirSync(benchDir)
  .filter((name) => name.endsWith(".ts") && !name.startsWith("_") && name !== "run.ts" && name !== "harness.ts")
  .filter((name) => name.includes(filter))
  .sort()

const log = (line: string) => console.error(`[bench] ${line}`)
const started = Date.now()
log(`node ${process.version}, ${config.quick ? "quick" : "full"} run, files: ${files.join(", ")}`)

const suites: Array<Suite> = []
const probes: Array<MemoryProbe> = []
const figureProbes: Array<FigureProbe> = []
const skipped: Array<string> = []

const asArray = <A>(value: A | ReadonlyArray<A> | undefined): ReadonlyArray<A> =>
  value === undefined ? [] : Array.isArray(value) ? value : [value as A]

for (const file of files) {
  try {
    const module = (await import(pathToFileURL(join(benchDir, file)).href)) as {
      readonly suite?: SuiteExport
      readonly suites?: ReadonlyArray<SuiteExport>
      readonly memory?: ReadonlyArray<MemoryProbe>
      readonly figures?: ReadonlyArray<FigureProbe>
    }
    for (const entry of [...asArray(module.suite), ...asArray(module.suites)]) {
      try {
        suites.push(typeof entry === "function" ? await entry() : entry)
      } catch (error) {
        skipped.push(`${file}: a suite failed to set up: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    probes.push(...asArray(module.memory))
    figureProbes.push(...asArray(module.figures))
  } catch (error) {
    skipped.push(`${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
for (const line of skipped) log(`skipped ${line}`)

const only = (process.env.BENCH_ONLY ?? "").toLowerCase()
const selected = (name: string) => name.toLowerCase().includes(only)
const measured =
  only === ""
    ? suites
    : suites
        .map((suite) => ({ ...suite, cases: suite.cases.filter((c) => selected(c.name)) }))
        .filter((suite) => suite.cases.length > 0)

const measurements = await measure(measured, config, log)
log("measuring memory")
const memory = await measureMemory(
  probes
    .filter((probe) => selected(probe.name))
    .map((probe) => ({
      ...probe,
      count: probe.fixed === true && !config.quick ? probe.count : Math.min(probe.count, config.memoryCount)
    }))
)
for (const suite of suites) {
  try {
    await suite.close?.()
  } catch (error) {
    log(`closing ${suite.name} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}
// Figures build what they measure themselves: measured once the suites are closed, so that nothing the suites left
// running (a workflow engine polling PostgreSQL, Redis layers' tickers) competes with them for the two cores.
log("measuring figures")
const figures = await measureFigures(
  figureProbes.filter((probe) => selected(probe.name)),
  config.quick
)

if (process.env.BENCH_DUMP === "1") {
  for (const row of measurements.rows) {
    log(`${row.suite.name} / ${row.case.name}: n=${row.n} ns/op ${row.samples.map((ns) => ns.toFixed(1)).join(" ")}`)
  }
}

const outcomes =
  only === ""
    ? evaluate(
        suites.flatMap((suite) => suite.targets ?? []),
        measurements.results
      )
    : []
const date = new Date().toISOString().slice(0, 10)
report(`# effect-fallback benchmarks, ${date}, node ${process.version}${config.quick ? " (BENCH_QUICK)" : ""}\n`)
for (const suite of measured) report(`${printSuite(suite, measurements)}\n`)
if (memory.length > 0) report(`${printMemory(memory)}\n`)
if (figures.length > 0) report(`${printFigures(figures)}\n`)
if (outcomes.length > 0) report(`${printTargets(outcomes)}\n`)
if (skipped.length > 0) report(`Skipped:\n${skipped.map((line) => `- ${line}`).join("\n")}\n`)
const count = (verdict: string) => outcomes.filter((outcome) => outcome.verdict === verdict).length
report(
  `targets: ${count("PASS")} PASS, ${count("MISS")} MISS, aims: ${count("AIM-PASS")} met, ${count("AIM-MISS")} missed` +
    `${count("N/A") > 0 ? `, ${count("N/A")} not measured` : ""}; ${((Date.now() - started) / 1000).toFixed(0)} s`
)
// A suite that failed half way through its setup may still hold a socket or a child process: the report is out.
process.exit(0)
