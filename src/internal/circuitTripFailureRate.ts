import type { TripRule } from "./circuitTripRule.ts"

/**
 * Opens when the failure rate of the window reaches `threshold`, once `minimumCalls` outcomes are in it
 * (`failureRate`).
 *
 * @internal
 */
export const failureRate = (threshold: number, minimumCalls: number): TripRule => ({
  reason: "failureRate",
  hinted: true,
  trips: ({ window }) =>
    window !== undefined && window.calls >= minimumCalls && window.failures / window.calls >= threshold
})
