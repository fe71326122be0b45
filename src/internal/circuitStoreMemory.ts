import { Effect } from "effect"
import type { Scope } from "effect"
import { type Admission, Circuit, type PendingTransition, type Policy, type Verdict, type Pending } from "./circuit.ts"
import { adoptShared, type CircuitStore, type SharedState, type StoreHost } from "./circuitStore.ts"

/**
 * The store of `CircuitBreaker.layer`: each circuit's state lives in its `Circuit` state machine, in this process.
 *
 * @internal
 */
export class MemoryStore implements CircuitStore {
  readonly policy: Policy

  constructor(policy: Policy) {
    this.policy = policy
  }

  create(id: string, outbox: Array<Pending>): Circuit {
    return new Circuit(id, this.policy, outbox)
  }

  admit(circuit: Circuit, now: number): Admission {
    return circuit.admit(now)
  }

  record(
    circuit: Circuit,
    generation: number,
    trial: boolean,
    verdict: Verdict | undefined,
    slow: boolean,
    now: number,
    error: unknown
  ): void {
    if (verdict === undefined) {
      if (trial) circuit.release(generation, now)
      return
    }
    circuit.record(generation, trial, verdict, slow, now, error)
  }

  /** A trial holds the circuit's own permit only. */
  acquireTrial(_circuit: Circuit, _generation: number): Effect.Effect<boolean> | undefined {
    return undefined
  }

  adopt(circuit: Circuit, shared: SharedState, now: number): void {
    adoptShared(circuit, shared, now)
  }

  /** The circuit is all there is. */
  evictable(_circuit: Circuit): boolean {
    return true
  }

  /** Nothing else refers to the circuit. */
  dropped(_circuit: Circuit): void {}

  /** Nothing to tell anyone. */
  transitioned(_circuit: Circuit, _transition: PendingTransition, _adopted: boolean): void {}

  /** Nothing runs in the background. */
  start(_host: StoreHost): Effect.Effect<void, never, Scope.Scope> {
    return Effect.void
  }
}
