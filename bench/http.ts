// HttpResilience against the bare HttpClient on a keep-alive node:http server on 127.0.0.1 (NodeHttpClient's undici
// client), and the Bulkhead's per-call cost against a bare `Semaphore.withPermits(1)`. Run with the others by
// `npm run bench` (BENCH_FILTER=http for these rows only), or alone: `node bench/http.ts`.
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Exit, Layer, Scope, Semaphore } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import { Bulkhead, CircuitBreaker, HttpResilience } from "effect-fallback"
import { startServer } from "../test/support/httpServer.ts"
import { effectLoop, effectProgram, runStandalone, type Suite, type Target } from "./harness.ts"

export const HTTP = "HttpResilience, a GET on a keep-alive server on 127.0.0.1"
export const DECORATOR = "HttpResilience, the decorator alone (an in-memory client)"
export const BULKHEAD = "Bulkhead, one call through it"

export const names = {
  bare: "bare HttpClient GET + body (baseline)",
  protected: "HttpResilience.protect GET + body",
  layered: "HttpResilience.layer GET + body",
  memoryBare: "bare in-memory client GET (baseline)",
  memoryProtected: "HttpResilience.protect, in-memory client GET",
  semaphore: "Semaphore.withPermits(1) (baseline)",
  bulkhead: "bulkhead.protect",
  bulkheadAsync: "bulkhead.protect, a call that yields once",
  semaphoreAsync: "Semaphore.withPermits(1), a call that yields once"
} as const

class Api extends CircuitBreaker.Service<Api>()("bench/Api") {}

const httpSuite = async (): Promise<Suite> => {
  const { server, close } = await startServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" })
    response.end('{"stock":3}')
  })
  const scope = Effect.runSync(Scope.make())
  const build = <A, E>(layer: Layer.Layer<A, E>) => Effect.runPromise(Layer.buildWithScope(layer, scope))
  const bare = await build(NodeHttpClient.layerUndici)
  const breakerLayer = CircuitBreaker.layer(Api, HttpResilience.breakerOptions())
  const withBreaker = await build(Layer.merge(NodeHttpClient.layerUndici, breakerLayer))
  const layered = await build(
    HttpResilience.layer(Api).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(breakerLayer))
  )
  const url = `${server.url}/stock/42`
  const get = HttpClient.get(url).pipe(Effect.flatMap((response) => response.text))
  const protectedGet = Effect.gen(function* () {
    const client = (yield* HttpClient.HttpClient).pipe(HttpResilience.protect(yield* Api))
    return yield* client.get(url).pipe(Effect.flatMap((response) => response.text))
  })
  // Each row uses one client for all its calls, as an application does.
  const protectedRow = effectProgram(
    names.protected,
    (n) =>
      Effect.gen(function* () {
        const client = (yield* HttpClient.HttpClient).pipe(HttpResilience.protect(yield* Api))
        for (let i = 0; i < n; i++) yield* client.get(url).pipe(Effect.flatMap((response) => response.text))
      }),
    withBreaker
  )
  if ((await Effect.runPromise(Effect.provideContext(protectedGet, withBreaker))) !== '{"stock":3}') {
    throw new Error("the protected client did not answer")
  }
  return {
    name: HTTP,
    description: "One GET and its 11-byte body per call; the circuit is Closed (the common case).",
    unit: "call",
    baseline: names.bare,
    cases: [effectLoop(names.bare, get, bare), protectedRow, effectLoop(names.layered, get, layered)],
    targets: httpTargets,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await close()
    }
  }
}

/** The decorator's own CPU cost per request: a client that answers a prebuilt response without I/O. */
const decoratorSuite = async (): Promise<Suite> => {
  const memory = HttpClient.make((request) =>
    Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 200 })))
  )
  const breaker = await Effect.runPromise(
    CircuitBreaker.make("bench/Memory", HttpResilience.breakerOptions()).pipe(
      Effect.provideService(Scope.Scope, Effect.runSync(Scope.make()))
    )
  )
  const guarded = memory.pipe(HttpResilience.protect(breaker))
  const url = "http://memory.test/stock/42"
  return {
    name: DECORATOR,
    description: "A client that answers a prebuilt 200 without I/O; the circuit is Closed.",
    unit: "call",
    baseline: names.memoryBare,
    cases: [effectLoop(names.memoryBare, memory.get(url)), effectLoop(names.memoryProtected, guarded.get(url))]
  }
}

const bulkheadSuite = async (): Promise<Suite> => {
  const semaphore = Semaphore.makeUnsafe(16)
  const bulkhead = await Effect.runPromise(Bulkhead.make({ name: "bench", maxConcurrent: 16, maxQueue: 16 }))
  return {
    name: BULKHEAD,
    description: "A free slot every time (no contention): the admission and release cost of one call.",
    unit: "call",
    baseline: names.semaphore,
    cases: [
      effectLoop(names.semaphore, semaphore.withPermits(1)(Effect.void)),
      effectLoop(names.bulkhead, bulkhead.protect(Effect.void)),
      effectLoop(names.semaphoreAsync, semaphore.withPermits(1)(Effect.yieldNow)),
      effectLoop(names.bulkheadAsync, bulkhead.protect(Effect.yieldNow))
    ]
  }
}

const httpTargets: ReadonlyArray<Target> = [
  {
    label: "aim: HttpResilience.protect within 5% of the bare client at the median",
    measure: (r) => r.ratio(HTTP, names.protected, HTTP, names.bare),
    compare: "<=",
    limit: 1.05,
    unit: "x",
    aim: true
  }
]

export const suites = [httpSuite, decoratorSuite, bulkheadSuite]

// Standalone: `node bench/http.ts` measures these suites alone, with the shared harness.
if (import.meta.main) {
  await runStandalone(suites, httpTargets)
  process.exit(0)
}
