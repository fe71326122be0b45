import type { CircuitOpenError } from "./circuitBreakerErrors.ts"
import { hasTag } from "./failure.ts"

/**
 * Is this failure the rejection by circuit `id` of the breaker of `domain`, as opposed to a `CircuitOpenError` raised
 * inside the guarded effect (another breaker's, or the same breaker's for another circuit)? Fallback, FallbackChain
 * and the Mediator tell the two apart through this one check: the first is the circuit saying no, the second is a
 * failure of the call like any other. The check reads the fields, not the class, so an error made by another copy
 * of this package is recognised too.
 *
 * @internal
 */
export const isRejectionOf =
  (breaker: { readonly domain: string }, id: string) =>
  (error: unknown): error is CircuitOpenError =>
    hasTag(error) &&
    error._tag === "CircuitOpenError" &&
    (error as CircuitOpenError).id === id &&
    (error as CircuitOpenError).domain === breaker.domain
