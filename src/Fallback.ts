/**
 * Fallbacks for Effects and Streams: when the primary fails with a selected failure, or its circuit does not admit
 * it, a fallback answers instead.
 *
 * ```ts
 * import { Data, Effect } from "effect"
 * import { Fallback } from "effect-fallback"
 *
 * class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
 * class NotFound extends Data.TaggedError("NotFound")<{}> {}
 *
 * declare const live: Effect.Effect<string, ConnectionError | NotFound>
 *
 * const profile = live.pipe(Fallback.orElse(Effect.succeed("cached"), { on: ["ConnectionError"] }))
 * //    ^? Effect<string, NotFound>
 * ```
 *
 * @since 0.1.0
 */
import type { Effect, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Predicate, Refinement } from "effect/Predicate"
import type { ExcludeTag, ExtractTag, NoInfer, Tags } from "effect/Types"
import type * as CircuitBreaker from "./CircuitBreaker.ts"
import * as internal from "./internal/fallback.ts"
import * as errors from "./internal/fallbackErrors.ts"

/**
 * The circuit a primary runs through: the service key of a domain breaker and the circuit id. Without a breaker,
 * `id` only labels the fallback's logs and span attributes.
 *
 * @since 0.1.0
 * @category options
 */
export type BreakerOptions<Self> =
  | {
      readonly breaker: CircuitBreaker.Key<Self>
      readonly id: string
    }
  | {
      readonly breaker?: undefined
      readonly id?: string | undefined
    }

/**
 * The settings shared by `orElse` and `stream`, apart from `on`.
 *
 * @since 0.1.0
 * @category options
 */
export type BaseOptions<Self, Defects extends boolean> = BreakerOptions<Self> & {
  /** Also fall back on defects (a thrown exception, a rejected promise). Default `false`. */
  readonly defects?: Defects | undefined
}

/**
 * The options of `orElse` and `stream`, given the selector `On` of the failures that fall back: a non-empty list of
 * `_tag`s of the primary's error type, or a predicate / refinement. Omitted: every typed failure falls back.
 *
 * @since 0.1.0
 * @category options
 */
export type Options<On, Self, Defects extends boolean> = BaseOptions<Self, Defects> & { readonly on: On }

/**
 * The failures a predicate or refinement `on` selects: the refinement's target `EB`, or every failure of `E` for a
 * plain predicate (`EB` left at `never`).
 *
 * @since 0.1.0
 * @category type-level
 */
export type Selected<E, EB> = [EB] extends [never] ? E : EB

/**
 * The failures a predicate or refinement `on` may leave unhandled: `E` minus a refinement's target, or all of `E`
 * for a plain predicate, which decides only at run time.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Unselected<E, EB> = [EB] extends [never] ? E : Exclude<E, EB>

/**
 * What a fallback function receives: the selected failure, a `CircuitOpenError` when a breaker is given, and any
 * defect (`unknown`) when `defects: true`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Trigger<Matched, Self, Defects extends boolean> =
  | Matched
  | ([Self] extends [never] ? never : CircuitBreaker.CircuitOpenError)
  | (true extends Defects ? unknown : never)

/**
 * What a stream fallback function receives besides the failure.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamProgress {
  /** How many items the primary delivered before it failed, so a fallback can resume after them. */
  readonly emitted: number
}

/**
 * A fallback Effect, or a function building it from the failure that triggered it.
 *
 * @since 0.1.0
 * @category models
 */
export type EffectFallback<T, A, E, R> = Effect.Effect<A, E, R> | ((error: T) => Effect.Effect<A, E, R>)

/**
 * A fallback Stream, or a function building it from the failure and the primary's progress.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamFallback<T, A, E, R> =
  Stream.Stream<A, E, R> | ((error: T, progress: StreamProgress) => Stream.Stream<A, E, R>)

/**
 * Raised when `orElse` or `stream` is built with something the compiler would have rejected (from untyped code):
 * it names the combinator, the field, what was expected and what was given.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Fallback } from "effect-fallback"
 *
 * try {
 *   Fallback.orElse(Effect.fail("down"), Effect.succeed(0), { on: [] as any })
 * } catch (error) {
 *   // InvalidFallbackOptions: Fallback.orElse: on must be a non-empty array of _tags or a predicate, got []
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const InvalidFallbackOptions: typeof errors.InvalidFallbackOptions = errors.InvalidFallbackOptions

/**
 * The instance type of `InvalidFallbackOptions`.
 *
 * @since 0.1.0
 * @category errors
 */
export type InvalidFallbackOptions = errors.InvalidFallbackOptions

/**
 * Runs `fallback` when `self` fails with a selected failure (or, given a breaker, when its circuit does not admit
 * the call). Failures outside `on` pass through unchanged and stay in the error type; tags in `on` leave it, as
 * with `Effect.catchTag`. Interruption never falls back. A failing fallback fails the call with its own failure,
 * after logging the primary's failure and annotating it on the current span.
 *
 * ```ts
 * import { Data, Effect } from "effect"
 * import { CircuitBreaker, Fallback } from "effect-fallback"
 *
 * class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
 * class UsersBreaker extends CircuitBreaker.Service<UsersBreaker>()("app/UsersBreaker") {}
 *
 * const primary: Effect.Effect<string, ConnectionError> = Effect.fail(new ConnectionError())
 *
 * // data-last, with the failure that triggered it
 * const a = primary.pipe(Fallback.orElse((error) => Effect.succeed(`fallback after ${error._tag}`)))
 * // data-first, only on some tags, through a circuit
 * const b = Fallback.orElse(primary, Effect.succeed("Unknown User"), {
 *   on: ["ConnectionError"],
 *   breaker: UsersBreaker,
 *   id: "GetUserProfile"
 * })
 * const program = Effect.all([a, b]).pipe(Effect.provide(CircuitBreaker.layer(UsersBreaker)))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const orElse: {
  <E, EB extends E = never, A2 = never, E2 = never, R2 = never, Self = never, Defects extends boolean = false>(
    fallback: EffectFallback<Trigger<Selected<NoInfer<E>, EB>, Self, Defects>, A2, E2, R2>,
    options: Options<Refinement<NoInfer<E>, EB> | Predicate<NoInfer<E>>, Self, Defects>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, Unselected<E, EB> | E2, R | R2 | Self>
  <E, const K extends NonEmptyReadonlyArray<Tags<E>>, A2, E2, R2, Self = never, Defects extends boolean = false>(
    fallback: EffectFallback<Trigger<ExtractTag<NoInfer<E>, K[number]>, Self, Defects>, A2, E2, R2>,
    options: Options<K, Self, Defects>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, ExcludeTag<E, K[number]> | E2, R | R2 | Self>
  <E, A2, E2, R2, Self = never, Defects extends boolean = false>(
    fallback: EffectFallback<Trigger<NoInfer<E>, Self, Defects>, A2, E2, R2>,
    options?: BaseOptions<Self, Defects> & { readonly on?: undefined }
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E2, R | R2 | Self>
  <A, E, R, EB extends E = never, A2 = never, E2 = never, R2 = never, Self = never, Defects extends boolean = false>(
    self: Effect.Effect<A, E, R>,
    fallback: EffectFallback<Trigger<Selected<NoInfer<E>, EB>, Self, Defects>, A2, E2, R2>,
    options: Options<Refinement<NoInfer<E>, EB> | Predicate<NoInfer<E>>, Self, Defects>
  ): Effect.Effect<A | A2, Unselected<E, EB> | E2, R | R2 | Self>
  <A, E, R, const K extends NonEmptyReadonlyArray<Tags<E>>, A2, E2, R2, Self = never, Defects extends boolean = false>(
    self: Effect.Effect<A, E, R>,
    fallback: EffectFallback<Trigger<ExtractTag<NoInfer<E>, K[number]>, Self, Defects>, A2, E2, R2>,
    options: Options<K, Self, Defects>
  ): Effect.Effect<A | A2, ExcludeTag<E, K[number]> | E2, R | R2 | Self>
  <A, E, R, A2, E2, R2, Self = never, Defects extends boolean = false>(
    self: Effect.Effect<A, E, R>,
    fallback: EffectFallback<Trigger<NoInfer<E>, Self, Defects>, A2, E2, R2>,
    options?: BaseOptions<Self, Defects> & { readonly on?: undefined }
  ): Effect.Effect<A | A2, E2, R | R2 | Self>
} = internal.orElse as any

/**
 * Switches to `fallback` when the stream `self` fails with a selected failure (or, given a breaker, when its circuit
 * does not admit the stream). Items the primary delivered stay delivered; the fallback stream is consumed from its
 * start, unless a fallback function resumes using `emitted`. The breaker is asked once per stream: completion records
 * a success, a counted failure at any item records a failure. A consumer that stops early never triggers the fallback.
 *
 * ```ts
 * import { Data, Effect, Stream } from "effect"
 * import { Fallback } from "effect-fallback"
 *
 * class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
 *
 * const ids = ["a", "b", "c", "d"]
 * const live = Stream.fromIterable(ids).pipe(
 *   Stream.take(2),
 *   Stream.concat(Stream.fail(new ConnectionError()))
 * )
 *
 * // resume after what the primary delivered
 * const items = live.pipe(
 *   Fallback.stream((_error, { emitted }) => Stream.fromIterable(ids.slice(emitted)), { on: ["ConnectionError"] })
 * )
 * const program = Stream.runCollect(items) // ["a", "b", "c", "d"]
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const stream: {
  <E, EB extends E = never, A2 = never, E2 = never, R2 = never, Self = never, Defects extends boolean = false>(
    fallback: StreamFallback<Trigger<Selected<NoInfer<E>, EB>, Self, Defects>, A2, E2, R2>,
    options: Options<Refinement<NoInfer<E>, EB> | Predicate<NoInfer<E>>, Self, Defects>
  ): <A, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A | A2, Unselected<E, EB> | E2, R | R2 | Self>
  <E, const K extends NonEmptyReadonlyArray<Tags<E>>, A2, E2, R2, Self = never, Defects extends boolean = false>(
    fallback: StreamFallback<Trigger<ExtractTag<NoInfer<E>, K[number]>, Self, Defects>, A2, E2, R2>,
    options: Options<K, Self, Defects>
  ): <A, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A | A2, ExcludeTag<E, K[number]> | E2, R | R2 | Self>
  <E, A2, E2, R2, Self = never, Defects extends boolean = false>(
    fallback: StreamFallback<Trigger<NoInfer<E>, Self, Defects>, A2, E2, R2>,
    options?: BaseOptions<Self, Defects> & { readonly on?: undefined }
  ): <A, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A | A2, E2, R | R2 | Self>
  <A, E, R, EB extends E = never, A2 = never, E2 = never, R2 = never, Self = never, Defects extends boolean = false>(
    self: Stream.Stream<A, E, R>,
    fallback: StreamFallback<Trigger<Selected<NoInfer<E>, EB>, Self, Defects>, A2, E2, R2>,
    options: Options<Refinement<NoInfer<E>, EB> | Predicate<NoInfer<E>>, Self, Defects>
  ): Stream.Stream<A | A2, Unselected<E, EB> | E2, R | R2 | Self>
  <A, E, R, const K extends NonEmptyReadonlyArray<Tags<E>>, A2, E2, R2, Self = never, Defects extends boolean = false>(
    self: Stream.Stream<A, E, R>,
    fallback: StreamFallback<Trigger<ExtractTag<NoInfer<E>, K[number]>, Self, Defects>, A2, E2, R2>,
    options: Options<K, Self, Defects>
  ): Stream.Stream<A | A2, ExcludeTag<E, K[number]> | E2, R | R2 | Self>
  <A, E, R, A2, E2, R2, Self = never, Defects extends boolean = false>(
    self: Stream.Stream<A, E, R>,
    fallback: StreamFallback<Trigger<NoInfer<E>, Self, Defects>, A2, E2, R2>,
    options?: BaseOptions<Self, Defects> & { readonly on?: undefined }
  ): Stream.Stream<A | A2, E2, R | R2 | Self>
} = internal.stream as any
