import type { TripRule } from "./circuitTripRule.ts"

/**
 * Opens after `threshold` counted failures in a row (`failureThreshold`); a success starts the count over.
 *
 * @internal
 */
export const consecutiveFailures = (threshold: number): TripRule => ({
  reason: "failureThreshold",
  hinted: true,
  trips: (counts) => counts.consecutiveFailures >= threshold
})
