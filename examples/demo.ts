// `npm start`: a short tour of effect-fallback, told as a story about a shop whose dependencies fail.
// 1. A price lookup falls back to a cached price; after three failures its circuit opens, so the price service is
//    left alone; once it recovers and the circuit's timeout passes, a trial call closes the circuit.
// 2. A live feed of orders dies half way; the items already delivered stay delivered, a replica stream takes over.
// 3. Recommendations come from a chain of providers under a time budget: a slow ML service is cut off, the cache answers.
// Exits 1 if anything turns out differently from what the story says.
// While the story runs, the live circuit dashboard is served on 127.0.0.1 (the address is printed first). With
// `npm start -- --serve` (or DEMO_SERVE=1) it keeps serving after the story, with some traffic, until Ctrl-C.
import { NodeHttpServer } from "@effect/platform-node"
import { Console, Data, Duration, Effect, Layer, Logger, Stream } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { CircuitBreaker, Dashboard, Fallback, FallbackChain } from "effect-fallback"
import { createServer } from "node:http"

const keepServing = process.argv.includes("--serve") || process.env.DEMO_SERVE === "1"

class PriceServiceDown extends Data.TaggedError("PriceServiceDown")<{}> {}
class FeedDisconnected extends Data.TaggedError("FeedDisconnected")<{}> {}

class ShopBreaker extends CircuitBreaker.Service<ShopBreaker>()("shop/Breaker") {}

let priceServiceUp = false
let priceServiceCalls = 0
const livePrice = (sku: string) =>
  Effect.suspend(() => {
    priceServiceCalls++
    return priceServiceUp
      ? Effect.succeed({ sku, price: 19.99, from: "live service" })
      : Effect.fail(new PriceServiceDown())
  })
const cachedPrice = (sku: string) => Effect.succeed({ sku, price: 18.5, from: "cache" })

const price = (sku: string) =>
  livePrice(sku).pipe(
    Fallback.orElse(() => cachedPrice(sku), { on: ["PriceServiceDown"], breaker: ShopBreaker, id: "prices" })
  )

const problems: Array<string> = []
const say = (line: string) => Console.log(line)
const expectThat = (claim: string, holds: boolean) =>
  Effect.suspend(() => {
    if (!holds) problems.push(claim)
    return say(`   ${holds ? "✓" : "✗"} ${claim}`)
  })

const prices = Effect.gen(function* () {
  const breaker = yield* ShopBreaker
  yield* say("\n1. Prices: the price service is down.")
  for (let i = 1; i <= 3; i++) {
    const answer = yield* price("sku-42")
    yield* say(`   call ${i}: ${answer.price} from the ${answer.from} (the price service failed)`)
  }
  yield* expectThat("after 3 failures the circuit is open", (yield* breaker.state("prices")) === "Open")
  const callsBefore = priceServiceCalls
  const whileOpen = yield* price("sku-42")
  yield* say(`   call 4: ${whileOpen.price} from the ${whileOpen.from}, answered at once`)
  yield* expectThat("while open, the price service is not called at all", priceServiceCalls === callsBefore)

  yield* say("   ...the price service comes back; the circuit waits out its reset timeout (300 ms)...")
  priceServiceUp = true
  yield* Effect.sleep("350 millis")
  yield* expectThat(
    "after the timeout the circuit lets a trial call through",
    (yield* breaker.state("prices")) === "HalfOpen"
  )
  const recovered = yield* price("sku-42")
  yield* say(`   call 5: ${recovered.price} from the ${recovered.from}`)
  yield* expectThat("the successful trial closed the circuit", (yield* breaker.state("prices")) === "Closed")
})

const orders = Effect.gen(function* () {
  yield* say("\n2. Orders feed: the live feed disconnects after two orders.")
  const live = Stream.make("order-1 (live)", "order-2 (live)").pipe(Stream.concat(Stream.fail(new FeedDisconnected())))
  const replica = (_: FeedDisconnected | CircuitBreaker.CircuitOpenError, progress: Fallback.StreamProgress) =>
    Stream.make("order-1 (replica)", "order-2 (replica)", "order-3 (replica)").pipe(Stream.drop(progress.emitted))
  const received = yield* live.pipe(
    Fallback.stream(replica, { on: ["FeedDisconnected"], breaker: ShopBreaker, id: "orders-feed" }),
    Stream.runCollect
  )
  for (const order of received) yield* say(`   received ${order}`)
  yield* expectThat(
    "the two live orders stay delivered and the replica resumes after them",
    JSON.stringify(received) === JSON.stringify(["order-1 (live)", "order-2 (live)", "order-3 (replica)"])
  )
})

const recommendations = FallbackChain.make<string>("recommendations").pipe(
  FallbackChain.add("ml_service", () => Effect.sleep("2 seconds").pipe(Effect.as(["ml pick"])), { on: () => true }),
  FallbackChain.add("redis_cache", (user) => Effect.succeed([`cached pick for ${user}`])),
  FallbackChain.add("bestsellers", () => Effect.succeed(["bestseller"]))
)

const recommend = Effect.gen(function* () {
  yield* say("\n3. Recommendations: the ML service hangs; the whole call has a 400 ms budget.")
  const result = yield* FallbackChain.execute(recommendations, "ada", { budget: "400 millis" })
  yield* say(`   answer ${JSON.stringify(result.value)} from ${result.source} (provider ${result.index + 1} of 3)`)
  for (const failure of result.failures) yield* say(`   ${failure.source}: ${failure.reason}`)
  yield* say(`   whole call took ${Math.round(Duration.toMillis(result.elapsed))} ms`)
  yield* expectThat(
    "the cache answered after the ML service was cut off at its share of the budget",
    result.source === "redis_cache" && result.isFallback && result.failures[0]?.reason === "timedOut"
  )
})

// After the story, with --serve: the price service goes down for a while every 20 seconds, so the dashboard shows
// the circuit opening, counting down and recovering; the page's controls are on (the server listens on loopback only).
const traffic = Effect.gen(function* () {
  yield* say("\nServing the dashboard until Ctrl-C (the price service fails 8 s out of every 20).")
  let tick = 0
  for (;;) {
    priceServiceUp = tick++ % 200 >= 80
    yield* price("sku-42")
    yield* Effect.sleep("100 millis")
  }
})

const dashboard = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const port = (server.address as { readonly port: number }).port
  yield* say(`   live dashboard: http://127.0.0.1:${port}/circuits`)
})

const program = Effect.gen(function* () {
  yield* say("effect-fallback demo: keeping a shop answering while its dependencies fail")
  yield* dashboard
  yield* prices
  yield* orders
  yield* recommend
  if (keepServing) yield* traffic
})

const Served = HttpRouter.serve(
  Dashboard.layer([ShopBreaker], keepServing ? { authorize: () => Effect.succeed(true) } : {}),
  { disableListenLog: true, disableLogger: true }
).pipe(
  Layer.provideMerge(CircuitBreaker.layer(ShopBreaker, { failureThreshold: 3, resetTimeout: "300 millis" })),
  Layer.provideMerge(
    NodeHttpServer.layer(createServer, {
      port: Number(process.env.DEMO_PORT ?? 0),
      host: "127.0.0.1",
      // An open page must not hold the exit back.
      disablePreemptiveShutdown: true
    })
  ),
  // The library logs every fallback and transition; the story says the same in plain words.
  Layer.provideMerge(Logger.layer([]))
)

Effect.runPromise(Effect.provide(program, Served)).then(() => {
  if (problems.length > 0) {
    console.error(`\n${problems.length} claim(s) did not hold:\n- ${problems.join("\n- ")}`)
    process.exit(1)
  }
  console.log("\nEverything went as the story says.")
})
