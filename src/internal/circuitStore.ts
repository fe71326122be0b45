/**
 * Where the state of a breaker's circuits lives, behind one interface in the manner of Effect's
 * `CircuitBreakerStore`: the breaker asks its store to create a circuit, admit a call, record an outcome and hand out
 * a HalfOpen trial's permit, and a store shared between processes adopts the transitions other processes made.
 *
 * Every store decides on local `Circuit` state machines, synchronously, so that no Closed call waits on anything: the
 * memory store (`circuitStoreMemory.ts`) is those state machines alone; the Redis store (`redisStore.ts`) keeps them
 * in step with Redis from background fibers, and only a HalfOpen trial waits on it, for its cluster-wide permit.
 */
import type { Effect, Scope } from "effect"
import type { State, TransitionReason } from "../CircuitBreaker.ts"
import type { Admission, Circuit, PendingTransition, Policy, Verdict, Pending } from "./circuit.ts"

/** A circuit state decided by another process, to take on. @internal */
export interface SharedState {
  readonly state: State
  /** Time left of a shared opening (ignored when `forced`). */
  readonly remainingMillis: number
  readonly openings: number
  readonly forced: boolean
  readonly reason: TransitionReason
}

/** Takes on `shared` in a local circuit: what `CircuitStore.adopt` does in every store. @internal */
export const adoptShared = (circuit: Circuit, shared: SharedState, now: number): void =>
  circuit.adopt(shared.state, shared.remainingMillis, shared.openings, shared.forced, shared.reason, now)

/** What a store gets from the breaker it serves when it starts. @internal */
export interface StoreHost {
  /** Circuit `id` of the breaker, created (through `CircuitStore.create`) on first use. */
  readonly circuit: (id: string) => Circuit
  /** Publishes the transitions `adopt` caused: streams, metrics and logs, as for local ones. */
  readonly publishAdopted: Effect.Effect<void>
}

/**
 * The breaker only ever passes a store the circuits that store created, so a store may keep its own kind of circuit
 * (`C`) with what it shares about it.
 *
 * @internal
 */
export interface CircuitStore<C extends Circuit = Circuit> {
  /** The policy every circuit of the store follows, resolved once. */
  readonly policy: Policy
  /** A new circuit `id`, reporting its transitions to `outbox`. Called once per id. */
  create(id: string, outbox: Array<Pending>): C
  /** Decides whether a call may run now. */
  admit(circuit: C, now: number): Admission
  /**
   * Records the outcome of a call admitted under `generation`; `verdict` is `undefined` for an interrupted call:
   * nothing is recorded and a trial's permit goes back.
   */
  record(
    circuit: C,
    generation: number,
    trial: boolean,
    verdict: Verdict | undefined,
    slow: boolean,
    now: number,
    error: unknown
  ): void
  /**
   * The shared permit of a HalfOpen trial the circuit admitted under `generation`: `false` refuses it. `undefined`
   * when the circuit's own permit is all there is.
   */
  acquireTrial(circuit: C, generation: number): Effect.Effect<boolean> | undefined
  /** Takes on a state another process decided; the host publishes the transitions it causes. */
  adopt(circuit: C, shared: SharedState, now: number): void
  /**
   * Whether the breaker may drop `circuit`, idle in the breaker's eyes (Closed, nothing counted, no permit, not
   * forced), now: a store that still owes something for it (outcomes not yet sent) says `false`.
   */
  evictable(circuit: C): boolean
  /** The breaker dropped `circuit`: the store forgets it. A later call with its id creates a new one. */
  dropped(circuit: C): void
  /** Hears of every transition the breaker publishes; `adopted` when `adopt` caused it. */
  transitioned(circuit: C, transition: PendingTransition, adopted: boolean): void
  /** Starts what the store runs in the background, for the life of the breaker's scope. */
  start(host: StoreHost): Effect.Effect<void, never, Scope.Scope>
}
