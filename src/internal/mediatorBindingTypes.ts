import type { Effect, Stream } from "effect"
import type { Covariant, ExcludeTag, ExtractTag, Tags } from "effect/Types"
import type * as CircuitBreaker from "../CircuitBreaker.ts"
import type * as Fallback from "../Fallback.ts"
import type { AnyStreamRequestClass, ErrorOf, ResponseOf } from "./mediatorMessages.ts"
import type { BindingTypeId } from "./mediatorSchema.ts"

// The compile-time checks of bindings: which failures of a primary fall back (`Caught`) or pass (`Passed`), that
// `on` names failures of the primary and that the failures passing through are declared by the request, and the
// shapes of handlers and fallbacks per kind of request. The public `Mediator` module re-exports them with their
// documentation; `bind` and `subscribe` are typed with them.

/** @internal */
export type LinkError<L> = L extends (...args: ReadonlyArray<any>) => Effect.Effect<any, infer E, any> ? E : never

/** @internal */
export type LinkServices<L> = L extends (...args: ReadonlyArray<any>) => Effect.Effect<any, any, infer R> ? R : never

/** @internal */
export type Caught<E, K> = [K] extends [never]
  ? E
  : K extends ReadonlyArray<infer T extends string>
    ? ExtractTag<E, T>
    : E

/** @internal */
export type Passed<E, K> = [K] extends [never]
  ? never
  : K extends ReadonlyArray<infer T extends string>
    ? ExcludeTag<E, T>
    : E

/** @internal */
export type CheckDeclared<Passed, Declared, T> =
  true extends IsUninferred<Passed>
    ? T
    : [Passed] extends [Declared]
      ? T
      : {
          readonly "failures that do not fall back must be declared in the request's error schema": Exclude<
            Passed,
            Declared
          >
        }

/** @internal */
export type CheckTags<E, K, T> =
  true extends IsUninferred<E>
    ? T
    : [Exclude<K, Tags<E>>] extends [never]
      ? T
      : {
          readonly "on names failures the primary never fails with": Exclude<K, Tags<E>>
        }

/** @internal */
export interface Uninferred {
  readonly [UninferredId]: typeof UninferredId
}

/** @internal */
export declare const UninferredId: unique symbol

/** @internal */
export type IsUninferred<E> = [E] extends [never] ? false : [E] extends [Uninferred] ? true : false

/** @internal */
export interface BreakerOptions<Self> {
  readonly breaker?: CircuitBreaker.Key<Self> | undefined
  readonly id?: string | undefined
}

/** @internal */
export interface FallbackBinding<P, K, Fb, Self> extends BreakerOptions<Self> {
  readonly primary: P
  readonly fallback: Fb
  readonly on?: K | undefined
}

/** @internal */
export interface PredicateFallbackBinding<P, On, Fb, Self> extends BreakerOptions<Self> {
  readonly primary: P
  readonly fallback: Fb
  readonly on: On
}

/** @internal */
export type Req<C extends { readonly Type: unknown }> = C["Type"]

/** @internal */
export type Res<C extends { readonly Type: unknown }> = ResponseOf<C["Type"]>

/** @internal */
export type Err<C extends { readonly Type: unknown }> = ErrorOf<C["Type"]>

/** @internal */
export type Trigger<E, Self> = Fallback.Trigger<E, Self, false>

/** @internal */
export type Handler<C extends { readonly Type: unknown }, E, R> = (request: Req<C>) => Effect.Effect<Res<C>, E, R>

/** @internal */
export type Producer<C extends { readonly Type: unknown }, E, R> = (request: Req<C>) => Stream.Stream<Res<C>, E, R>

/** @internal */
export type IsStream<C> = C extends AnyStreamRequestClass ? true : false

/** @internal */
export type Answer<C extends { readonly Type: unknown }, E, R> =
  true extends IsStream<C> ? Stream.Stream<Res<C>, E, R> : Effect.Effect<Res<C>, E, R>

/** @internal */
export type ProgressFor<C> = true extends IsStream<C> ? Fallback.StreamProgress : never

/** @internal */
export type HandlerFor<C extends { readonly Type: unknown }, E, R> =
  true extends IsStream<C> ? Producer<C, E, R> : Handler<C, E, R>

/** @internal */
export type FallbackFor<C extends { readonly Type: unknown }, T, Checked> = (
  request: Req<C>,
  trigger: T,
  progress: ProgressFor<C>
) => Checked

/** @internal */
export type CheckedAnswer<E, K, Declared, Answer> = CheckTags<
  E,
  [K] extends [never] ? never : K extends ReadonlyArray<infer T> ? T : never,
  CheckDeclared<Passed<E, K>, Declared, Answer>
>

/** @internal */
export interface RequestBinding<out R> {
  readonly [BindingTypeId]: { readonly _R: Covariant<R> }
  readonly kind: "Request" | "StreamRequest"
  readonly tag: string
}

/** @internal */
export interface EventBinding<out R> {
  readonly [BindingTypeId]: { readonly _R: Covariant<R> }
  readonly kind: "Event"
  readonly tag: string
}

/** @internal */
export interface RequestMap<out R> {
  readonly [BindingTypeId]: { readonly _R: Covariant<R> }
  readonly kind: "RequestMap"
  readonly bindings: ReadonlyArray<RequestBinding<unknown>>
}

/** @internal */
export interface EventMap<out R> {
  readonly [BindingTypeId]: { readonly _R: Covariant<R> }
  readonly kind: "EventMap"
  readonly bindings: ReadonlyArray<EventBinding<unknown>>
}

/** @internal */
export type Services<B> = B extends { readonly [BindingTypeId]: { readonly _R: Covariant<infer R> } } ? R : never
