// FallbackChain against the primary called alone, a hand-written `Effect.catch` ladder and Effect 4.1's own
// `ExecutionPlan`, in the Effect world (one `Effect.gen` loop per sample, each step built once per call as an
// application would). Run with the others by `npm run bench` (BENCH_FILTER=fallbackChain for these rows only), or
// alone: `node bench/fallbackChain.ts`.
import { Context, Data, Effect, ExecutionPlan, Layer, Logger, References } from "effect"
import { FallbackChain } from "effect-fallback"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { effectProgram, runStandalone, type Suite, type Target } from "./harness.ts"

export const SYNC = "FallbackChain, the primary answers (a synchronous primary)"
export const ASYNC = "FallbackChain, the primary answers (an asynchronous primary)"
export const HTTP = "FallbackChain, the primary answers (an HTTP GET on 127.0.0.1)"
export const THIRD = "FallbackChain, the third provider answers"

export const names = {
  primary: "primary(input) alone (baseline)",
  chain: "FallbackChain.execute, 4 providers",
  chainUntraced: "FallbackChain.execute, 4 providers, tracer disabled",
  ladder: "Effect.catch ladder, 3 providers (baseline)",
  chainThird: "FallbackChain.execute, answered by provider 3",
  chainThirdBudget: "FallbackChain.execute + budget, answered by provider 3",
  chainThirdLogged: "FallbackChain.execute, provider 3, Warn logs to a no-op logger",
  plan: "Effect.withExecutionPlan, answered by step 3"
} as const

class Unavailable extends Data.TaggedError("Unavailable")<{}> {}
// Failures are built once: a bench of the chain, not of stack capture (see docs/BASELINE.md).
const unavailable = new Unavailable()

const recommendations = ["BST001", "BST002"]
const syncPrimary = (_userId: string) => Effect.succeed(recommendations)
// A microtask hop, the cheapest real asynchronous boundary (a resolved promise, as a cached client would return).
const asyncPrimary = (_userId: string) => Effect.promise(() => Promise.resolve(recommendations))
const failing = (_userId: string) => Effect.fail(unavailable)
const fallback = (_userId: string) => Effect.succeed(recommendations)

const chainOf = (primary: (userId: string) => Effect.Effect<unknown, Unavailable>) =>
  FallbackChain.make<string>("bench").pipe(
    FallbackChain.add("ml_service", primary),
    FallbackChain.add("redis_cache", fallback),
    FallbackChain.add("popular_items", fallback),
    FallbackChain.add("static_bestsellers", fallback)
  )

const thirdChain = FallbackChain.make<string>("bench_third").pipe(
  FallbackChain.add("ml_service", failing),
  FallbackChain.add("redis_cache", failing),
  FallbackChain.add("static_bestsellers", fallback)
)

class Recommender extends Context.Service<
  Recommender,
  {
    readonly get: (userId: string) => Effect.Effect<Array<string>, Unavailable>
  }
>()("bench/Recommender") {}

const plan = ExecutionPlan.make(
  { provide: Layer.succeed(Recommender, { get: failing }) },
  { provide: Layer.succeed(Recommender, { get: failing }) },
  { provide: Layer.succeed(Recommender, { get: fallback }) }
)

const loop = (call: (userId: string) => Effect.Effect<unknown, unknown>, n: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* call("user-1")
  })

/**
 * A row calling `call(input)` n times, building the effect per call as a request handler would. Warn logs are
 * filtered out (the chain's failure and activation lines), so rows compare the fallback machinery, not console I/O.
 */
const perCall = (name: string, call: (userId: string) => Effect.Effect<unknown, unknown>) =>
  effectProgram(name, (n) => loop(call, n).pipe(Effect.provideService(References.MinimumLogLevel, "Error")))

const untraced = (name: string, call: (userId: string) => Effect.Effect<unknown, unknown>) =>
  effectProgram(name, (n) =>
    loop(call, n).pipe(
      Effect.provideService(References.MinimumLogLevel, "Error"),
      Effect.provideService(References.TracerEnabled, false)
    )
  )

const discarding = Logger.layer([Logger.make(() => {})])

const logged = (name: string, call: (userId: string) => Effect.Effect<unknown, unknown>) =>
  effectProgram(name, (n) => loop(call, n).pipe(Effect.provide(discarding)))

const primarySuite = (
  name: string,
  description: string,
  primary: (userId: string) => Effect.Effect<unknown, Unavailable>,
  extra?: Partial<Suite>
): Suite => {
  const chain = chainOf(primary)
  return {
    name,
    description,
    unit: "call",
    baseline: names.primary,
    cases: [
      perCall(names.primary, primary),
      perCall(names.chain, (userId) => FallbackChain.execute(chain, userId)),
      untraced(names.chainUntraced, (userId) => FallbackChain.execute(chain, userId))
    ],
    ...extra
  }
}

/** The primary a real service has: a request to a recommendation server, here a node:http server on loopback. */
const httpSuite = async (): Promise<Suite> => {
  const body = JSON.stringify(recommendations)
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/recommend/`
  const primary = (userId: string) => Effect.promise(() => fetch(url + userId).then((response) => response.text()))
  await check("http primary", primary("u"), body)
  return primarySuite(
    HTTP,
    "The primary fetches from a node:http server on 127.0.0.1 (keep-alive): the cost of a real dependency.",
    primary,
    { close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  )
}

const ladder = (userId: string) =>
  failing(userId).pipe(
    Effect.catch(() => failing(userId)),
    Effect.catch(() => fallback(userId))
  )

const viaPlan = (userId: string) =>
  Effect.withExecutionPlan(
    Recommender.use((r) => r.get(userId)),
    plan
  )

const check = async (label: string, effect: Effect.Effect<unknown, unknown>, expected: unknown) => {
  const value = await Effect.runPromise(effect)
  if (value !== expected) throw new Error(`${label}: expected ${String(expected)}, got ${String(value)}`)
}

const thirdSuite = async (): Promise<Suite> => {
  // every row must really answer from its third provider
  await check(
    "chain",
    Effect.map(FallbackChain.execute(thirdChain, "u"), (r) => r.source).pipe(
      Effect.provideService(References.MinimumLogLevel, "Error")
    ),
    "static_bestsellers"
  )
  await check(
    "plan",
    Effect.map(viaPlan("u"), (v) => v),
    recommendations
  )
  return {
    name: THIRD,
    description: "The first two providers fail with a prebuilt tagged error; the third answers.",
    unit: "call",
    baseline: names.ladder,
    cases: [
      perCall(names.ladder, ladder),
      perCall(names.chainThird, (userId) => FallbackChain.execute(thirdChain, userId)),
      perCall(names.chainThirdBudget, (userId) => FallbackChain.execute(thirdChain, userId, budget)),
      logged(names.chainThirdLogged, (userId) => FallbackChain.execute(thirdChain, userId)),
      perCall(names.plan, viaPlan)
    ],
    targets
  }
}

const budget = { budget: "2 seconds" } as const

const targets: ReadonlyArray<Target> = [
  {
    label: "FallbackChain, primary answers (HTTP GET on 127.0.0.1): at most 1.5x the primary alone",
    measure: (r) => r.ratio(HTTP, names.chain, HTTP, names.primary),
    compare: "<=",
    limit: 1.5,
    unit: "x"
  },
  {
    label: "aim: FallbackChain, primary answers (one-microtask primary): at most 1.5x the primary alone",
    measure: (r) => r.ratio(ASYNC, names.chain, ASYNC, names.primary),
    compare: "<=",
    limit: 1.5,
    unit: "x",
    aim: true
  },
  {
    label: "aim: as above with the tracer disabled (no span)",
    measure: (r) => r.ratio(ASYNC, names.chainUntraced, ASYNC, names.primary),
    compare: "<=",
    limit: 1.5,
    unit: "x",
    aim: true
  },
  {
    label: "aim: FallbackChain answering from provider 3 no slower than ExecutionPlan (time ratio)",
    measure: (r) => r.ratio(THIRD, names.chainThird, THIRD, names.plan),
    compare: "<=",
    limit: 1,
    unit: "x",
    aim: true
  }
]

export const suites = [
  () =>
    primarySuite(
      SYNC,
      "The primary is `Effect.succeed`: the chain's own cost laid bare (span, clock reads, latency histogram).",
      syncPrimary
    ),
  httpSuite,
  () =>
    primarySuite(
      ASYNC,
      "The primary is `Effect.promise(() => Promise.resolve(...))`: one microtask, the cheapest real I/O boundary.",
      asyncPrimary
    ),
  thirdSuite
]

// Standalone: `node bench/fallbackChain.ts` measures these suites alone, with the shared harness.
if (import.meta.main) {
  await runStandalone(suites, targets)
  process.exit(0)
}
