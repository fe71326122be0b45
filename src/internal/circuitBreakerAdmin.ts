/**
 * Administration: reading circuits (`stats`, `state`, `circuits`) and manual control (`open`, `close`, `reset`,
 * `setMode`). Each operation applies what time changed first, then publishes the transitions it caused.
 */
import { Duration, Effect, Ref } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import { Circuit } from "./circuit.ts"
import { type BreakerCore, nowOf } from "./circuitBreakerCore.ts"

const snapshot = (domain: string, circuit: Circuit, now: number): CB.Stats => {
  circuit.window?.expire(now)
  return {
    domain,
    id: circuit.id,
    state: circuit.state,
    mode: circuit.mode,
    forced: circuit.forced,
    consecutiveFailures: circuit.consecutiveFailures,
    halfOpenSuccesses: circuit.halfOpenSuccesses,
    halfOpenInFlight: circuit.halfOpenInFlight,
    successes: circuit.successes,
    failures: circuit.failures,
    ignored: circuit.ignored,
    rejected: circuit.rejected,
    slow: circuit.slow,
    windowCalls: circuit.window?.calls ?? 0,
    failureRate: circuit.failureRate(now),
    slowCallRate: circuit.slowCallRate(now),
    openedAt: circuit.openedAt,
    retryAfter: circuit.state === "Open" ? Duration.millis(circuit.retryAfterMillis(now)) : undefined,
    openings: circuit.openings
  }
}

/** @internal */
export const stats = (core: BreakerCore, id: string): Effect.Effect<CB.Stats> =>
  Effect.withFiber((fiber) => {
    // An unknown id reads as a fresh circuit would, and nothing is created.
    const circuit = core.peek(id)?.circuit ?? new Circuit(id, core.policy, [])
    const now = nowOf(fiber)
    circuit.refresh(now)
    return core.flushThen(Effect.succeed(snapshot(core.domain, circuit, now)))
  })

/** @internal */
export const circuits = (core: BreakerCore): Effect.Effect<ReadonlyArray<CB.Stats>> =>
  Effect.flatMap(Ref.get(core.circuits), (entries) =>
    Effect.forEach(Array.from(entries.keys()), (id) => stats(core, id))
  )

/** Changes circuit `id` (created if new, which counts as a use) with `f` and publishes what it caused. */
const manual = (core: BreakerCore, id: string, f: (circuit: Circuit, now: number) => void): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    f(core.touch(core.entry(id)).circuit, nowOf(fiber))
    return core.flush() ?? Effect.void
  })

/** @internal */
export const forceOpen = (core: BreakerCore, id: string): Effect.Effect<void> =>
  manual(core, id, (circuit, now) => circuit.forceOpen(now))

/** @internal */
export const forceClose = (core: BreakerCore, id: string): Effect.Effect<void> =>
  manual(core, id, (circuit, now) => circuit.forceClose(now))

/** @internal */
export const reset = (core: BreakerCore, id: string): Effect.Effect<void> =>
  manual(core, id, (circuit, now) => circuit.reset(now))

/** @internal */
export const setMode = (core: BreakerCore, id: string, mode: CB.Mode): Effect.Effect<void> =>
  manual(core, id, (circuit) => {
    circuit.mode = mode
  })
