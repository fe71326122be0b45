/**
 * The Redis store: local circuits kept in step with a shared state in Redis by background fibers, so that no call
 * waits on Redis except a HalfOpen trial asking for its cluster-wide permit.
 *
 * - Closed calls are decided and recorded locally; their outcomes go into a per-circuit batch that the ticker sends
 *   every `flushInterval` (`redisFlusher.ts`).
 * - A local transition (the circuit's own failures tripped it, a manual open/close/reset) is sent at once by the job
 *   runner (`redisJobs.ts`), as a compare-and-set on the shared epoch (`redisSend.ts`).
 * - Shared transitions arrive on the domain's channel (`redisSubscriber.ts`) and are adopted (`redisAdopt.ts`); the
 *   process also reads every shared circuit not Closed at start-up, a circuit when it is first used, the circuits
 *   in use every `syncInterval`, and every circuit it knows when Redis comes back (`redisSync.ts`,
 *   `redisReconcile.ts`).
 * - Every command about many circuits carries a bounded slice of them (`redisBatches.ts`).
 * - Every command is bounded; a failure or timeout marks Redis down, after which nothing waits on it until a PING
 *   answers again (`redisLink.ts`).
 */
import { Clock, Deferred, Effect } from "effect"
import type { Scope } from "effect"
import type { PendingTransition, Verdict, Pending } from "./circuit.ts"
import type { CircuitStore, StoreHost } from "./circuitStore.ts"
import { MemoryStore } from "./circuitStoreMemory.ts"
import { RedisCircuit } from "./redisCircuit.ts"
import { runJobs } from "./redisJobs.ts"
import { acquireLease, settleLease } from "./redisLeases.ts"
import { checkFingerprint } from "./redisFingerprint.ts"
import { flushBatches } from "./redisFlusher.ts"
import type { RedisLink } from "./redisLink.ts"
import { subscriber } from "./redisSubscriber.ts"
import { loadActive } from "./redisSync.ts"
import { ticker } from "./redisTicker.ts"

const MANUAL_REASONS: ReadonlySet<string> = new Set(["forcedOpen", "manualClose", "reset"])

/**
 * The memory store's decisions, with what is shared about them: outcome batches, trial leases, local transitions.
 *
 * @internal
 */
export class RedisStore extends MemoryStore implements CircuitStore<RedisCircuit> {
  readonly link: RedisLink

  constructor(link: RedisLink) {
    super(link.policy)
    this.link = link
  }

  override create(id: string, outbox: Array<Pending>): RedisCircuit {
    const circuit = new RedisCircuit(id, this.policy, outbox, this.link.base)
    this.link.circuits.set(id, circuit)
    // A circuit first used after start-up may be shared already: read it rather than wait for the next sync.
    if (this.link.started) this.link.firstRead(circuit)
    return circuit
  }

  override record(
    circuit: RedisCircuit,
    generation: number,
    trial: boolean,
    verdict: Verdict | undefined,
    slow: boolean,
    now: number,
    error: unknown
  ): void {
    super.record(circuit, generation, trial, verdict, slow, now, error)
    circuit.used = true
    if (trial) return settleLease(this.link, circuit, generation, verdict)
    if (verdict !== undefined && circuit.batch(generation, verdict, slow)) this.link.dirty.push(circuit)
  }

  override acquireTrial(circuit: RedisCircuit, generation: number): Effect.Effect<boolean> {
    return acquireLease(this.link, circuit, generation)
  }

  /**
   * When the store owes nothing for the circuit: no outcomes waiting to be sent or in flight, no job queued (a
   * transition, a trial report, a first read), no trial lease held, no transition Redis has not confirmed.
   */
  override evictable(circuit: RedisCircuit): boolean {
    return circuit.pending === 0 && !circuit.dirty && circuit.leases.length === 0 && circuit.unsent === undefined
  }

  /** Forgets the circuit: it is no longer synced; a later call with its id creates and first-reads a new one. */
  override dropped(circuit: RedisCircuit): void {
    if (this.link.circuits.get(circuit.id) === circuit) this.link.circuits.delete(circuit.id)
  }

  override transitioned(circuit: RedisCircuit, transition: PendingTransition, adopted: boolean): void {
    circuit.clearBatch(circuit.generation)
    circuit.reason = transition.reason
    // Open -> HalfOpen is a matter of time, which every process applies on its own.
    const to = transition.to
    if (adopted || to === "HalfOpen") return
    this.link.submit({
      _tag: "Transition",
      circuit,
      expectedEpoch: circuit.epoch,
      to,
      reason: transition.reason,
      openMillis: to === "Open" ? circuit.lastOpeningMillis : 0,
      openings: circuit.openings,
      forced: circuit.forced,
      manual: MANUAL_REASONS.has(transition.reason)
    })
  }

  override start(host: StoreHost): Effect.Effect<void, never, Scope.Scope> {
    const link = this.link
    link.host = host
    return Effect.gen(function* () {
      const subscribed = yield* Deferred.make<void>()
      yield* Effect.forkScoped(subscriber(link, subscribed))
      // Subscribe before the first read, so nothing published in between is missed.
      yield* Deferred.await(subscribed).pipe(Effect.timeoutOption(link.settings.timeoutMillis))
      yield* checkFingerprint(link)
      yield* loadActive(link)
      link.nextSync = (yield* Clock.currentTimeMillis) + link.settings.syncMillis
      link.started = true
      // Outcomes still in a batch are sent when the layer closes (bounded like every command).
      yield* Effect.addFinalizer(() => (link.down ? Effect.void : flushBatches(link)))
      yield* Effect.forkScoped(runJobs(link))
      yield* Effect.forkScoped(ticker(link))
    })
  }
}
