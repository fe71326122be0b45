/**
 * The options' fingerprint: processes that share a prefix and domain share one aggregate and one state per circuit,
 * decided by whichever process's options apply at the moment. A process compares its fingerprint with the one
 * stored for the domain when it starts, and logs once when they differ.
 */
import { Effect, Option } from "effect"
import type { Policy } from "./circuit.ts"
import type { RedisLink } from "./redisLink.ts"

/** What in the policy decides shared state, as one string. @internal */
export const fingerprint = (policy: Policy): string =>
  JSON.stringify({
    failureThreshold: policy.failureThreshold,
    successThreshold: policy.successThreshold,
    halfOpenMaxCalls: policy.halfOpenMaxCalls,
    openings: [1, 2, 3, 4].map(policy.openingMillis),
    maxResetMillis: Number.isFinite(policy.maxResetMillis) ? policy.maxResetMillis : "none",
    halfOpenTimeout: policy.halfOpenTimeout ?? "none",
    failureRate: policy.failureRate ?? "none",
    slowCall: policy.slowCall ?? "none",
    window: policy.window ?? "none"
  })

/** The key of the domain's fingerprint. @internal */
export const fingerprintKey = (link: RedisLink): string => `${link.base}options`

/** Stores the fingerprint if none is, or logs once when the stored one differs. @internal */
export const checkFingerprint = (link: RedisLink): Effect.Effect<void> =>
  Effect.gen(function* () {
    const key = fingerprintKey(link)
    const ours = fingerprint(link.policy)
    const ttl = String(link.settings.idleMillis)
    const stored = yield* link.command(link.redis.send<unknown>("SET", key, ours, "NX", "PX", ttl))
    if (Option.isNone(stored) || stored.value === "OK") return
    const theirs = yield* link.command(link.redis.send<unknown>("GET", key))
    if (Option.isNone(theirs) || typeof theirs.value !== "string" || theirs.value === ours) return
    yield* link.warn(
      `circuit breaker ${link.domain}: another process shares prefix "${link.settings.prefix}" with different ` +
        "options; the shared circuits follow the options of whichever process decides each transition",
      { ours, theirs: theirs.value }
    )
  })

/** Keeps the fingerprint while a process runs (every `syncInterval`). @internal */
export const keepFingerprint = (link: RedisLink): Effect.Effect<void> =>
  Effect.asVoid(link.command(link.redis.send("PEXPIRE", fingerprintKey(link), String(link.settings.idleMillis))))
