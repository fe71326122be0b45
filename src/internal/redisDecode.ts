/**
 * Decoding what Redis sends back: data that is not a circuit this library wrote is logged (once per circuit, until
 * it decodes again) and never acted on.
 */
import { Effect, Option } from "effect"
import type { RedisCircuit } from "./redisCircuit.ts"
import type { RedisLink } from "./redisLink.ts"
import * as Scripts from "./redisScripts.ts"

/** @internal */
export const undecodable = (
  link: RedisLink,
  circuit: RedisCircuit | undefined,
  what: string,
  raw: unknown
): Effect.Effect<void> => {
  if (circuit !== undefined) {
    if (circuit.corrupt) return Effect.void
    circuit.corrupt = true
  }
  return link.warn(`circuit breaker ${link.domain}: ignoring ${what} that is not a circuit this library wrote`, raw)
}

/** The reply of a script about `circuit`, or none (logged) when it is not one our scripts produce. @internal */
export const replyOf = (
  link: RedisLink,
  circuit: RedisCircuit,
  raw: unknown
): Effect.Effect<Option.Option<Scripts.Reply>> => {
  const reply = Scripts.decodeReply(raw)
  if (Option.isNone(reply) || reply.value.status === "corrupt") {
    return Effect.as(undecodable(link, circuit, `the Redis data of circuit "${circuit.id}"`, raw), Option.none())
  }
  circuit.corrupt = false
  return Effect.succeed(reply)
}
