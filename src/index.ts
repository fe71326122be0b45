/**
 * effect-fallback: fallbacks, circuit breakers, fallback chains and a CQRS mediator for Effect 4.
 *
 * @since 0.1.0
 */
export * as Bulkhead from "./Bulkhead.ts"
export * as CircuitBreaker from "./CircuitBreaker.ts"
export * as Dashboard from "./Dashboard.ts"
export * as Fallback from "./Fallback.ts"
export * as FallbackChain from "./FallbackChain.ts"
export * as Health from "./Health.ts"
export * as HttpResilience from "./HttpResilience.ts"
export * as Mediator from "./Mediator.ts"
export * as Saga from "./Saga.ts"
