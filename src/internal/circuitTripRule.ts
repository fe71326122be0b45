/**
 * A trip rule decides, after a Closed circuit recorded an outcome, whether the circuit must open. The policy holds
 * the rules it was configured with (`failureThreshold` always, `failureRate` and `slowCall` when set); the circuit
 * asks them in order and opens on the first that trips, with that rule's reason.
 */
import type { TransitionReason } from "../CircuitBreaker.ts"
import type { Window } from "./window.ts"

/** What a rule reads: the counts a Closed circuit keeps. @internal */
export interface TripCounts {
  readonly consecutiveFailures: number
  readonly window: Window | undefined
}

/** @internal */
export interface TripRule {
  /** The transition reason when this rule opens the circuit. */
  readonly reason: TransitionReason
  /** Whether the failure that tripped the rule may lengthen the opening with its retry-after hint. */
  readonly hinted: boolean
  readonly trips: (counts: TripCounts) => boolean
}
