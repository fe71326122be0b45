// One process of the multi-process Redis benchmark (bench/redis.ts): builds a Redis-backed breaker, ours or Effect
// 4.1's `layerStoreRedis`, prints {"ready":true}, waits for a line on stdin, then runs Closed calls through one shared
// circuit for <millis> and prints {"callsPerSecond":n}.
// Usage: node bench/_redisWorker.ts <redis url> <prefix> <ours|effect> <millis>
import { NodeRedis } from "@effect/platform-node"
import { Context, Effect, Layer, Scope } from "effect"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import * as CircuitBreaker from "effect-fallback/CircuitBreaker"
import { once } from "node:events"

class BenchBreaker extends CircuitBreaker.Service<BenchBreaker>()("bench/RedisBreaker") {}

const [url = "", prefix = "", kind = "ours", millisArg = "1000"] = process.argv.slice(2)
const millis = Number(millisArg)
const redis = NodeRedis.layer({ url, disableOfflineQueue: true })
const step = Effect.sync(() => 1)

const makeCall = Effect.gen(function* () {
  const scope = yield* Scope.make()
  if (kind === "effect") {
    const context = yield* Layer.buildWithScope(
      EffectBreaker.layer({ tripPolicy: EffectBreaker.consecutive(5), openDuration: "1 hour" }).pipe(
        Layer.provide(EffectBreaker.layerStoreRedis({ prefix })),
        Layer.provide(redis)
      ),
      scope
    )
    const breaker = Context.get(context, EffectBreaker.CircuitBreaker)
    return step.pipe(breaker.execute({ key: "shared" }))
  }
  const context = yield* Layer.buildWithScope(
    CircuitBreaker.layerRedis(BenchBreaker, { failureThreshold: 5 }, { prefix }).pipe(Layer.provide(redis)),
    scope
  )
  return step.pipe(Context.get(context, BenchBreaker).protect("shared"))
})

const call = await Effect.runPromise(makeCall)
const batch = (n: number) =>
  Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* call
    })
  )
await batch(2_000)
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
await once(process.stdin, "data")

const started = performance.now()
let calls = 0
while (performance.now() - started < millis) {
  await batch(kind === "effect" ? 50 : 5_000)
  calls += kind === "effect" ? 50 : 5_000
}
const seconds = (performance.now() - started) / 1000
process.stdout.write(`${JSON.stringify({ callsPerSecond: Math.round(calls / seconds) })}\n`)
process.exit(0)
