/**
 * HalfOpen trial leases: the one place a call waits on Redis, bounded by the command timeout. A trial the local
 * circuit admitted asks for a cluster-wide lease; its outcome is reported with the lease when it ends.
 */
import { Effect, Option } from "effect"
import { Verdict } from "./circuit.ts"
import { adopt } from "./redisAdopt.ts"
import type { RedisCircuit } from "./redisCircuit.ts"
import { replyOf } from "./redisDecode.ts"
import type { RedisLink } from "./redisLink.ts"

/** Whether the trial admitted under `generation` may run: `false` when another process holds the permits. @internal */
export const acquireLease = (link: RedisLink, circuit: RedisCircuit, generation: number): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    if (link.down || circuit.mode !== "normal") return Effect.succeed(true)
    const token = link.token()
    const acquire = link.scripts.acquire(
      link.keys(circuit),
      link.channel,
      link.settings.idleMillis,
      circuit.id,
      token,
      link.settings.leaseMillis,
      link.policy.halfOpenMaxCalls
    )
    return Effect.flatMap(link.command(acquire), (raw) => {
      // Unreachable: the local circuit decides alone, as it would without Redis.
      if (Option.isNone(raw)) return Effect.succeed(true)
      return Effect.flatMap(replyOf(link, circuit, raw.value), (reply) => {
        if (Option.isNone(reply)) return Effect.succeed(true)
        const { snapshot, status } = reply.value
        if (status === "granted") circuit.leases.push({ token, generation })
        return Effect.as(adopt(link, circuit, snapshot), status === "granted" || status === "closed")
      })
    })
  })

/** Queues the report of a trial that held a lease (`verdict` undefined: interrupted, the lease is released). @internal */
export const settleLease = (
  link: RedisLink,
  circuit: RedisCircuit,
  generation: number,
  verdict: Verdict | undefined
): void => {
  const at = circuit.leases.findIndex((lease) => lease.generation === generation)
  if (at < 0) return
  const { token } = circuit.leases.splice(at, 1)[0]!
  const open = circuit.state === "Open"
  const openings = open ? circuit.openings : circuit.openings + 1
  link.submit({
    _tag: "Trial",
    circuit,
    token,
    outcome:
      verdict === undefined || verdict === Verdict.Ignored
        ? "release"
        : verdict === Verdict.Success
          ? "success"
          : "failure",
    openMillis: open ? circuit.lastOpeningMillis : circuit.openingMillisFor(openings, undefined),
    openings
  })
}
