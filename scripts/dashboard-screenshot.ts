// Takes docs/dashboard.png, the README's picture of the dashboard: a server on 127.0.0.1 with three domains whose
// circuits are driven into every state for a few seconds of real traffic, photographed by Debian's chromium through
// playwright-core (the setup of the browser tests). Run with `npm run screenshot`.
import { NodeHttpServer } from "@effect/platform-node"
import { Data, Effect, Layer, Logger } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { CircuitBreaker, Dashboard } from "effect-fallback"
import { statSync } from "node:fs"
import { createServer } from "node:http"
import { chromiumHint, isChromiumAvailable, launchChromium } from "../test/support/chromium.ts"

class Down extends Data.TaggedError("Down")<{}> {}
class Payments extends CircuitBreaker.Service<Payments>()("shop/Payments") {}
class Inventory extends CircuitBreaker.Service<Inventory>()("shop/Inventory") {}
class Search extends CircuitBreaker.Service<Search>()("shop/Search") {}

const output = new URL("../docs/dashboard.png", import.meta.url).pathname

const call = (breaker: CircuitBreaker.CircuitBreaker, id: string, failureRate: number, slowMillis = 0) =>
  Effect.exit(
    (Math.random() < failureRate ? Effect.fail(new Down()) : Effect.void).pipe(
      Effect.delay(slowMillis),
      breaker.protect(id)
    )
  )

const traffic = Effect.gen(function* () {
  const payments = yield* Payments
  const inventory = yield* Inventory
  const search = yield* Search
  yield* Effect.forEach(
    Array.from({ length: 480 }, (_, i) => `shard-${i}`),
    (id) => call(search, id, 0),
    {
      discard: true
    }
  )
  yield* search.open("shard-17")
  for (let round = 0; round < 200; round++) {
    if (round === 100) yield* payments.setMode("refund", "metricsOnly")
    yield* Effect.all(
      [
        Effect.replicateEffect(call(payments, "charge", round < 150 ? 0.05 : 0.9), 2 + (round % 5)),
        call(payments, "refund", 0.1),
        Effect.replicateEffect(call(inventory, "reserve", 0.02), 3 + (round % 4)),
        call(inventory, "release", 0),
        call(inventory, "restock", 0.3, round % 3 === 0 ? 60 : 0),
        Effect.replicateEffect(call(search, `shard-${round % 7}`, 0.05), 2),
        round > 120 ? call(search, "shard-3", 0.95) : Effect.void
      ],
      { concurrency: "unbounded" }
    )
    yield* Effect.sleep("50 millis")
  }
})

const Served = HttpRouter.serve(
  Dashboard.layer([Payments, Inventory, Search], {
    sampleInterval: "250 millis",
    maxClosedPerDomain: 4,
    authorize: () => Effect.succeed(true)
  }),
  { disableListenLog: true, disableLogger: true }
).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      CircuitBreaker.layer(Payments, { failureThreshold: 5, resetTimeout: "30 seconds" }),
      CircuitBreaker.layer(Inventory, {
        failureThreshold: 10,
        slowCall: { duration: "50 millis", rateThreshold: 1, minimumCalls: 50 }
      }),
      CircuitBreaker.layer(Search, { failureThreshold: 5, resetTimeout: "20 seconds" })
    )
  ),
  Layer.provideMerge(
    NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1", disablePreemptiveShutdown: true })
  ),
  Layer.provideMerge(Logger.layer([]))
)

const program = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const url = `http://127.0.0.1:${(server.address as { readonly port: number }).port}/circuits`
  const browser = yield* Effect.acquireRelease(
    Effect.promise(() => launchChromium({ width: 1100, height: 760 })),
    (browser) => Effect.promise(() => browser.close())
  )
  const page = yield* Effect.promise(() => browser.context.newPage())
  yield* Effect.promise(() => page.goto(url))
  yield* traffic
  yield* Effect.promise(() => page.screenshot({ path: output }))
  console.log(`wrote ${output} (${Math.round(statSync(output).size / 1024)} KB)`)
})

if (!isChromiumAvailable()) {
  console.error(chromiumHint)
  process.exit(1)
}
Effect.runPromise(program.pipe(Effect.provide(Served), Effect.scoped)).then(() => process.exit(0))
