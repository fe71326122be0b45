/**
 * How a Redis-backed breaker talks to Redis: the options and their validation.
 */
import { Effect } from "effect"
import type { Duration } from "effect"
import type { Policy } from "./circuit.ts"
import type { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { Validate } from "./circuitBreakerValidate.ts"

/**
 * How a Redis-backed breaker talks to Redis.
 *
 * @internal
 */
export interface RedisOptions {
  /** Prefix of every key and channel. Processes with the same prefix and domain share their circuits. */
  readonly prefix?: string | undefined
  /** How often a process sends its aggregated outcomes. Default 100 millis. */
  readonly flushInterval?: Duration.Input | undefined
  /** How often a process re-reads the circuits it uses, converging after a missed message. Default 5 seconds. */
  readonly syncInterval?: Duration.Input | undefined
  /**
   * The longest any Redis command may take. Past it, Redis counts as unreachable if a PING gets no reply within as
   * long either. Default 200 millis.
   */
  readonly commandTimeout?: Duration.Input | undefined
  /** How long a HalfOpen trial holds its cluster-wide permit at most. Default `halfOpenTimeout`, or 10 seconds. */
  readonly trialLease?: Duration.Input | undefined
  /** An idle circuit's keys and its entries in the circuit index expire after this long. Default 1 hour. */
  readonly idleTimeToLive?: Duration.Input | undefined
}

/** @internal */
export interface Settings {
  readonly prefix: string
  readonly flushMillis: number
  readonly syncMillis: number
  readonly timeoutMillis: number
  readonly leaseMillis: number
  readonly idleMillis: number
}

const DEFAULT_PREFIX = "effect-fallback:"

/** @internal */
export const resolveSettings = (
  policy: Policy,
  options: RedisOptions
): Effect.Effect<Settings, CircuitBreakerConfigError> =>
  Effect.gen(function* () {
    const check = new Validate(policy.domain)
    const millis = (field: string, input: Duration.Input | undefined, fallback: number) =>
      input === undefined
        ? Effect.succeed(fallback)
        : Effect.map(check.finiteDuration(`redis.${field}`, input), Math.ceil)
    return {
      prefix: yield* check.string("redis.prefix", options.prefix ?? DEFAULT_PREFIX),
      flushMillis: yield* millis("flushInterval", options.flushInterval, 100),
      syncMillis: yield* millis("syncInterval", options.syncInterval, 5_000),
      timeoutMillis: yield* millis("commandTimeout", options.commandTimeout, 200),
      leaseMillis: yield* millis("trialLease", options.trialLease, policy.halfOpenTimeout?.millis ?? 10_000),
      idleMillis: yield* millis("idleTimeToLive", options.idleTimeToLive, 3_600_000)
    }
  })
