import type { TripRule } from "./circuitTripRule.ts"

/**
 * Opens when the rate of slow calls in the window reaches `rateThreshold`, once `minimumCalls` outcomes are in it
 * (`slowCall`). Slowness is no failure, so no retry-after hint lengthens the opening.
 *
 * @internal
 */
export const slowCallRate = (rateThreshold: number, minimumCalls: number): TripRule => ({
  reason: "slowCallRate",
  hinted: false,
  trips: ({ window }) =>
    window !== undefined && window.calls >= minimumCalls && window.slow / window.calls >= rateThreshold
})
