/**
 * A circuit of the Redis store: the local state machine, plus what the process shares with Redis about it.
 */
import type { TransitionReason } from "../CircuitBreaker.ts"
import { Circuit, type Pending, type Policy, Verdict } from "./circuit.ts"

/** A local transition to make shared: a compare-and-set against the epoch the process had when it moved. @internal */
export interface TransitionJob {
  readonly _tag: "Transition"
  readonly circuit: RedisCircuit
  readonly expectedEpoch: number
  readonly to: "Open" | "Closed"
  readonly reason: TransitionReason
  readonly openMillis: number
  readonly openings: number
  readonly forced: boolean
  readonly manual: boolean
}

/** The outcome of a trial that held a cluster-wide lease. @internal */
export interface TrialJob {
  readonly _tag: "Trial"
  readonly circuit: RedisCircuit
  readonly token: string
  readonly outcome: "success" | "failure" | "release"
  readonly openMillis: number
  readonly openings: number
}

/** The first read of the circuits created after start-up (`RedisLink.unread`), in bounded batches. @internal */
export interface ReadJob {
  readonly _tag: "Read"
}

/** What the job runner sends to Redis, one at a time, in the order the local circuits produced them. @internal */
export type Job = TransitionJob | TrialJob | ReadJob

/** @internal */
export class RedisCircuit extends Circuit {
  readonly key: string
  readonly trialsKey: string
  /** The newest shared epoch this process has seen for the circuit. */
  epoch = 0
  /** The reason of the last transition, local or shared, for re-seeding a Redis that lost the circuit. */
  reason: TransitionReason = "failureThreshold"
  /** A local transition Redis did not confirm (it was unreachable): retried on re-sync. */
  unsent: TransitionJob | undefined = undefined
  /** Whether undecodable data was logged already (once until it decodes again). */
  corrupt = false
  /** HalfOpen leases held by trials in flight, by the generation that admitted them. */
  readonly leases: Array<{ readonly token: string; readonly generation: number }> = []
  // The batch of Closed-era outcomes of one local generation, not yet sent.
  batchGeneration = -1
  batchSuccesses = 0
  batchFailures = 0
  batchSlow = 0
  /** Failures after the batch's last success. */
  trailing = 0
  sawSuccess = false
  /** Whether the circuit waits in the flusher's list. */
  dirty = false
  /** Whether the circuit recorded an outcome since the last periodic sync read it. */
  used = false
  /** Jobs queued, first reads waiting and flushes in flight about the circuit: it may be dropped only at 0. */
  pending = 0

  constructor(id: string, policy: Policy, outbox: Array<Pending>, base: string) {
    super(id, policy, outbox)
    this.key = `${base}circuit:${id}`
    this.trialsKey = `${base}trials:${id}`
  }

  /**
   * Adds a Closed-era outcome recorded under `generation` to the batch; `true` when the circuit just became dirty.
   * The hot path of a Closed call: a few increments, no allocation.
   */
  batch(generation: number, verdict: Verdict, slow: boolean): boolean {
    if (verdict === Verdict.Ignored || generation !== this.generation) return false
    if (this.state !== "Closed" || this.mode === "disabled") return false
    if (this.batchGeneration !== generation) this.clearBatch(generation)
    if (verdict === Verdict.Success) {
      this.batchSuccesses++
      this.trailing = 0
      this.sawSuccess = true
    } else {
      this.batchFailures++
      this.trailing++
    }
    if (slow) this.batchSlow++
    if (this.dirty) return false
    this.dirty = true
    return true
  }

  clearBatch(generation: number): void {
    this.batchGeneration = generation
    this.batchSuccesses = 0
    this.batchFailures = 0
    this.batchSlow = 0
    this.trailing = 0
    this.sawSuccess = false
  }
}
