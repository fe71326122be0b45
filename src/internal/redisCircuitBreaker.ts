/**
 * `CircuitBreaker.layerRedis`: the breaker of `circuitBreaker.ts` over the Redis store (`redisStore.ts`), with the
 * policy resolved once for both.
 */
import { Effect, Layer, Queue } from "effect"
import type { Context, Scope } from "effect"
import { Redis } from "effect/persistence"
import type * as CB from "../CircuitBreaker.ts"
import { makeWithStore } from "./circuitBreaker.ts"
import type { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { resolvePolicy } from "./circuitBreakerPolicy.ts"
import type { Job } from "./redisCircuit.ts"
import { RedisLink } from "./redisLink.ts"
import { type RedisOptions, resolveSettings } from "./redisSettings.ts"
import { RedisStore } from "./redisStore.ts"

export type { RedisOptions }

/** @internal */
export const make = (
  domain: string,
  options: CB.Options,
  redisOptions: RedisOptions
): Effect.Effect<CB.CircuitBreaker, CircuitBreakerConfigError, Redis.Redis | Scope.Scope> =>
  Effect.gen(function* () {
    const policy = yield* resolvePolicy(domain, options)
    const settings = yield* resolveSettings(policy, redisOptions)
    const redis = yield* Redis.Redis
    const jobs = yield* Queue.unbounded<Job>()
    // The store logs about Redis through the context the layer was built in.
    const context = yield* Effect.context<never>()
    return yield* makeWithStore(new RedisStore(new RedisLink(policy, settings, redis, jobs, context)), options)
  })

/** @internal */
export const layer = <Self>(
  key: Context.Key<Self, CB.CircuitBreaker>,
  options: CB.Options,
  redisOptions: RedisOptions
): Layer.Layer<Self, CircuitBreakerConfigError, Redis.Redis> => Layer.effect(key, make(key.key, options, redisOptions))
