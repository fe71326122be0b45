/**
 * A CQRS mediator: requests, streaming requests and events are Schema classes, handlers are functions returning
 * Effects or Streams, and each binding may pair a primary handler with a fallback (optionally through a circuit
 * breaker). The compiler checks that a handler answers the request it is bound to with the request's response.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class UserProfile extends Schema.Class<UserProfile>("UserProfile")({ userId: Schema.String, name: Schema.String }) {}
 * class ProfileViewed extends Mediator.Event<ProfileViewed>()("ProfileViewed", { userId: Schema.String }) {}
 * class GetUserProfile extends Mediator.Request<GetUserProfile>()("GetUserProfile", { userId: Schema.String }, {
 *   response: UserProfile
 * }) {}
 *
 * const MediatorLive = Mediator.layer({
 *   requests: [
 *     Mediator.bind(GetUserProfile, (request) =>
 *       Mediator.emit(new ProfileViewed({ userId: request.userId })).pipe(
 *         Effect.as(new UserProfile({ userId: request.userId, name: "Ada" }))
 *       ))
 *   ],
 *   events: [Mediator.subscribe(ProfileViewed, (event) => Effect.log(`viewed ${event.userId}`))]
 * })
 *
 * const program = Mediator.send(new GetUserProfile({ userId: "u1" })).pipe(Effect.provide(MediatorLive))
 * //    ^? Effect<UserProfile, Mediator.HandlerNotFound | Mediator.DuplicateBinding | Mediator.InvalidBinding>
 * ```
 *
 * @since 0.1.0
 */
import type { Duration, Layer, Stream } from "effect"
import { Context, Effect, Metric, Schema } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as internal from "./internal/mediator.ts"
import type * as checks from "./internal/mediatorBindingTypes.ts"
import * as errors from "./internal/mediatorErrors.ts"
import type * as messages from "./internal/mediatorMessages.ts"
import * as service from "./internal/mediatorService.ts"
import * as schemas from "./internal/mediatorSchema.ts"

// ---------------------------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------------------------

/**
 * The key under which a message instance carries, at the type level only, what it asks for.
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: typeof schemas.TypeId = schemas.TypeId

/**
 * The key under which bindings and maps carry, at the type level only, the services their handlers need.
 *
 * @since 0.1.0
 * @category symbols
 */
export const BindingTypeId: typeof schemas.BindingTypeId = schemas.BindingTypeId

/**
 * The key of the static marker that says which kind of message a class defines.
 *
 * @since 0.1.0
 * @category symbols
 */
export const ClassTypeId: typeof schemas.ClassTypeId = schemas.ClassTypeId

/**
 * A request answered by one response (a command or a query). `A` is the response, `E` the failures a binding
 * may end with.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestMessage<A, E> = messages.RequestMessage<A, E>

/**
 * A request answered by a stream of responses.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamRequestMessage<A, E> = messages.StreamRequestMessage<A, E>

/**
 * A fact that happened, delivered to every handler subscribed to its type.
 *
 * @since 0.1.0
 * @category models
 */
export type EventMessage = messages.EventMessage

/**
 * Any request instance.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyRequest = messages.AnyRequest

/**
 * Any streaming request instance.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyStreamRequest = messages.AnyStreamRequest

/**
 * Any event instance.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyEvent = messages.AnyEvent

/**
 * The response type of a request (the item type of a streaming request).
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class GetCount extends Mediator.Request<GetCount>()("GetCount", {}, { response: Schema.Number }) {}
 * type Count = Mediator.ResponseOf<GetCount> // number
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type ResponseOf<R> = messages.ResponseOf<R>

/**
 * The failures a request's binding may end with, as declared by its `error` schema.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ErrorOf<R> = messages.ErrorOf<R>

type MissingSelfGeneric<Usage extends string> = messages.MissingSelfGeneric<Usage>

/**
 * The class of a request: a tagged Schema class that also names its response and error schemas.
 *
 * @since 0.1.0
 * @category messages
 */
export type RequestClass<
  Self,
  Tag extends string,
  Fields extends Schema.Struct.Fields,
  Res extends Schema.Top,
  Err extends Schema.Top
> = messages.RequestClass<Self, Tag, Fields, Res, Err>

/**
 * The class of a streaming request: its `response` schema describes each item.
 *
 * @since 0.1.0
 * @category messages
 */
export type StreamRequestClass<
  Self,
  Tag extends string,
  Fields extends Schema.Struct.Fields,
  Res extends Schema.Top,
  Err extends Schema.Top
> = messages.StreamRequestClass<Self, Tag, Fields, Res, Err>

/**
 * The class of an event.
 *
 * @since 0.1.0
 * @category messages
 */
export type EventClass<Self, Tag extends string, Fields extends Schema.Struct.Fields> = messages.EventClass<
  Self,
  Tag,
  Fields
>

/**
 * Any request class.
 *
 * @since 0.1.0
 * @category messages
 */
export type AnyRequestClass = messages.AnyRequestClass

/**
 * Any streaming request class.
 *
 * @since 0.1.0
 * @category messages
 */
export type AnyStreamRequestClass = messages.AnyStreamRequestClass

/**
 * Any event class.
 *
 * @since 0.1.0
 * @category messages
 */
export type AnyEventClass = messages.AnyEventClass

/**
 * Declares a request class. The fields are validated by the constructor and by decoding; `response` is the schema
 * of the answer and `error` (default `Schema.Never`) the failures a binding of this request may end with. The
 * compiler holds every handler bound to the request to both.
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class UserProfile extends Schema.Class<UserProfile>("UserProfile")({ userId: Schema.String, name: Schema.String }) {}
 * class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { userId: Schema.String }) {}
 *
 * class GetUserProfile extends Mediator.Request<GetUserProfile>()("GetUserProfile", { userId: Schema.String }, {
 *   response: UserProfile,
 *   error: UserNotFound
 * }) {}
 * ```
 *
 * @since 0.1.0
 * @category messages
 */
export const Request =
  <Self = never>() =>
  <
    const Tag extends string,
    const Fields extends Schema.Struct.Fields,
    Res extends Schema.Top,
    Err extends Schema.Top = Schema.Never
  >(
    tag: Tag,
    fields: Fields,
    options: { readonly response: Res; readonly error?: Err | undefined }
  ): [Self] extends [never] ? MissingSelfGeneric<"Request"> : RequestClass<Self, Tag, Fields, Res, Err> =>
    schemas.makeClass("Request", tag, fields, options)

/**
 * Declares a streaming request class: `response` is the schema of each item of the stream.
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class StreamItemResult extends Schema.Class<StreamItemResult>("StreamItemResult")({
 *   itemId: Schema.String,
 *   source: Schema.String
 * }) {}
 * class StreamItems extends Mediator.StreamRequest<StreamItems>()("StreamItems", {
 *   itemIds: Schema.Array(Schema.String)
 * }, { response: StreamItemResult }) {}
 * ```
 *
 * @since 0.1.0
 * @category messages
 */
export const StreamRequest =
  <Self = never>() =>
  <
    const Tag extends string,
    const Fields extends Schema.Struct.Fields,
    Res extends Schema.Top,
    Err extends Schema.Top = Schema.Never
  >(
    tag: Tag,
    fields: Fields,
    options: { readonly response: Res; readonly error?: Err | undefined }
  ): [Self] extends [never] ? MissingSelfGeneric<"StreamRequest"> : StreamRequestClass<Self, Tag, Fields, Res, Err> =>
    schemas.makeClass("StreamRequest", tag, fields, options)

/**
 * Declares an event class.
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class UserJoined extends Mediator.Event<UserJoined>()("UserJoined", { userId: Schema.String }) {}
 * ```
 *
 * @since 0.1.0
 * @category messages
 */
export const Event =
  <Self = never>() =>
  <const Tag extends string, const Fields extends Schema.Struct.Fields>(
    tag: Tag,
    fields: Fields
  ): [Self] extends [never] ? MissingSelfGeneric<"Event"> : EventClass<Self, Tag, Fields> =>
    schemas.makeClass("Event", tag, fields, undefined)

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/**
 * No handler is bound to the request's type in this mediator.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Ping extends Mediator.Request<Ping>()("Ping", {}, { response: Schema.String }) {}
 *
 * const pong = Mediator.send(new Ping()).pipe(
 *   Effect.catchTag("HandlerNotFound", (e) => Effect.succeed(`no handler for ${e.tag}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const HandlerNotFound: typeof errors.HandlerNotFound = errors.HandlerNotFound

/**
 * The instance type of `HandlerNotFound`.
 *
 * @since 0.1.0
 * @category errors
 */
export type HandlerNotFound = errors.HandlerNotFound

/**
 * The same request type bound twice (or the same event handler subscribed twice, or two handlers of one event
 * given the same id): the mediator's layer fails to build instead of silently keeping one of them.
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * const report = <A, R>(layer: Layer.Layer<A, Mediator.DuplicateBinding, R>) =>
 *   layer.pipe(Layer.catchTag("DuplicateBinding", (e) => Layer.effectDiscard(Effect.logError(e.message))))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const DuplicateBinding: typeof errors.DuplicateBinding = errors.DuplicateBinding

/**
 * The instance type of `DuplicateBinding`.
 *
 * @since 0.1.0
 * @category errors
 */
export type DuplicateBinding = errors.DuplicateBinding

/**
 * A binding or an option the compiler would have rejected (from untyped code): it names the message tag, the
 * field, what was expected and what was given.
 *
 * ```ts
 * import { Mediator } from "effect-fallback"
 *
 * const describe = (e: Mediator.InvalidBinding) => `${e.tag}: ${e.field} must be ${e.expected}`
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const InvalidBinding: typeof errors.InvalidBinding = errors.InvalidBinding

/**
 * The instance type of `InvalidBinding`.
 *
 * @since 0.1.0
 * @category errors
 */
export type InvalidBinding = errors.InvalidBinding

/**
 * A payload from the outside that is not a valid message of any type this mediator handles, reported before any
 * handler runs. `tag` is the payload's `_tag` when it had one; `cause` is the Schema error, whose message says
 * what was wrong and where.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * const badRequest = Mediator.publishUnknown({ _tag: "UserJoined", userId: 42 }).pipe(
 *   Effect.catchTag("MessageDecodeError", (e) => Effect.succeed(`400: ${e.message}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const MessageDecodeError: typeof errors.MessageDecodeError = errors.MessageDecodeError

/**
 * The instance type of `MessageDecodeError`.
 *
 * @since 0.1.0
 * @category errors
 */
export type MessageDecodeError = errors.MessageDecodeError

/**
 * Is this value a `MessageDecodeError`? (`sendUnknown` and `streamUnknown` fail with `unknown`, because the
 * request, and so its failures, are known only at run time.)
 *
 * ```ts
 * import { Mediator } from "effect-fallback"
 *
 * Mediator.isMessageDecodeError(new Error("x")) // false
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const isMessageDecodeError: typeof errors.isMessageDecodeError = errors.isMessageDecodeError

/**
 * Is this value a `HandlerNotFound`?
 *
 * ```ts
 * import { Mediator } from "effect-fallback"
 *
 * Mediator.isHandlerNotFound(new Mediator.HandlerNotFound({ kind: "Request", tag: "GetUser" })) // true
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const isHandlerNotFound: typeof errors.isHandlerNotFound = errors.isHandlerNotFound

/**
 * Every link of a chain of responsibility passed the request on. Bind the chain as the primary of a fallback with
 * `on: ["ChainExhausted"]` to answer what no link handles, or declare it in the request's `error` schema.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * const explain = (e: Mediator.ChainExhausted) => Effect.logWarning(`${e.links} links passed ${e.tag} on`)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const ChainExhausted: typeof errors.ChainExhausted = errors.ChainExhausted

/**
 * The instance type of `ChainExhausted`.
 *
 * @since 0.1.0
 * @category errors
 */
export type ChainExhausted = errors.ChainExhausted

/**
 * `ChainExhausted` as a schema, to declare it in the `error` schema of a request bound directly to a chain.
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Pay extends Mediator.Request<Pay>()("Pay", { method: Schema.String }, {
 *   response: Schema.String,
 *   error: Mediator.ChainExhaustedSchema
 * }) {}
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const ChainExhaustedSchema: typeof errors.ChainExhaustedSchema = errors.ChainExhaustedSchema

/**
 * A dispatch nested deeper than the mediator's `maxDepth`: a handler sent, streamed, published or emitted while
 * `maxDepth` handler runs were already nested. The request or stream dies with it (a defect: the handlers recurse);
 * an event handler's run is logged and counted. `chain` lists the tags of the nested messages, the outermost first.
 *
 * ```ts
 * import { Mediator } from "effect-fallback"
 *
 * const explain = (e: Mediator.DispatchDepthExceeded) => `${e.chain.length} levels: ${e.message}`
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const DispatchDepthExceeded: typeof errors.DispatchDepthExceeded = errors.DispatchDepthExceeded

/**
 * The instance type of `DispatchDepthExceeded`.
 *
 * @since 0.2.0
 * @category errors
 */
export type DispatchDepthExceeded = errors.DispatchDepthExceeded

/**
 * An event handler ran longer than the mediator's `eventHandlerTimeout` and was interrupted; the run is logged and
 * counted like a failure.
 *
 * ```ts
 * import { Mediator } from "effect-fallback"
 *
 * const explain = (e: Mediator.EventHandlerTimeout) => `${e.handler} on ${e.event}: ${e.message}`
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const EventHandlerTimeout: typeof errors.EventHandlerTimeout = errors.EventHandlerTimeout

/**
 * The instance type of `EventHandlerTimeout`.
 *
 * @since 0.2.0
 * @category errors
 */
export type EventHandlerTimeout = errors.EventHandlerTimeout

/**
 * Inside a link of a chain of responsibility (see `chain`): hand the request to the next link. Past the last link
 * the chain fails with `ChainExhausted`. Outside a chain it is a defect (a bug: there is no next link).
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Pay extends Mediator.Request<Pay>()("Pay", { method: Schema.String }, { response: Schema.String }) {}
 *
 * const card = (request: Pay) => request.method === "card" ? Effect.succeed("charged card") : Mediator.next
 * ```
 *
 * @since 0.1.0
 * @category chains
 */
export const next: Effect.Effect<never> = internal.next

type LinkError<L> = checks.LinkError<L>
type LinkServices<L> = checks.LinkServices<L>

/**
 * A chain of responsibility as one handler: the links are tried in order, each answering the request or passing it
 * on with `Mediator.next`; past the last link the chain fails with `ChainExhausted`. Bind it directly (declaring
 * `ChainExhausted` in the request's `error` schema) or as the primary of a fallback binding with
 * `on: ["ChainExhausted"]`. A link's own failure ends the chain. The links share one attempt, so events raised by a
 * link that passed the request on are kept.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Pay extends Mediator.Request<Pay>()("Pay", { method: Schema.String }, { response: Schema.String }) {}
 *
 * const payments = Mediator.chain(
 *   Pay,
 *   (request) => request.method === "card" ? Effect.succeed("charged card") : Mediator.next,
 *   (request) => request.method === "paypal" ? Effect.succeed("charged paypal") : Mediator.next
 * )
 * const binding = Mediator.bind(Pay, {
 *   primary: payments,
 *   fallback: () => Effect.succeed("queued for manual review"),
 *   on: ["ChainExhausted"]
 * })
 * ```
 *
 * @since 0.1.0
 * @category chains
 */
export const chain: <
  C extends AnyRequestClass,
  const Links extends NonEmptyReadonlyArray<(request: C["Type"]) => Effect.Effect<ResponseOf<C["Type"]>, any, any>>
>(
  request: C,
  ...links: Links
) => NoInfer<
  (
    request: C["Type"]
  ) => Effect.Effect<ResponseOf<C["Type"]>, LinkError<Links[number]> | ChainExhausted, LinkServices<Links[number]>>
> = internal.chain as any

// ---------------------------------------------------------------------------------------------------------------
// Handlers and bindings
// ---------------------------------------------------------------------------------------------------------------

/**
 * The failures of `E` that a list of tags `K` sends to the fallback (`never`: all of them).
 *
 * @since 0.1.0
 * @category type-level
 */
export type Caught<E, K> = checks.Caught<E, K>

/**
 * The failures of `E` that a list of tags `K` lets through (they stay in the binding's error type).
 *
 * @since 0.1.0
 * @category type-level
 */
export type Passed<E, K> = checks.Passed<E, K>

/**
 * `T` when the failures that do not fall back (`Passed`) are declared by the request (`Declared`); otherwise a type
 * no Effect matches, whose one property explains the mismatch. It is the return type of a fallback, so the compiler
 * reports the mismatch at the fallback.
 *
 * @since 0.1.0
 * @category type-level
 */
export type CheckDeclared<Passed, Declared, T> = checks.CheckDeclared<Passed, Declared, T>

/**
 * `T` when every tag of `on` (`K`) is a tag of the primary's failures `E`; otherwise a type naming the strays.
 *
 * @since 0.1.0
 * @category type-level
 */
export type CheckTags<E, K, T> = checks.CheckTags<E, K, T>

/**
 * The default of a binding's failure type parameter, standing for "not inferred yet". TypeScript checks the arguments
 * that need no inference (a fallback written `() => ...`) before it infers the failures of a primary whose parameter
 * is not annotated; the checks let such a first pass through, and hold the binding to them once the primary's
 * failures are known.
 *
 * @since 0.2.0
 * @category type-level
 */
export type Uninferred = checks.Uninferred

/**
 * `true` when `E` is the `Uninferred` placeholder (and not `never`, the failures of a primary that cannot fail).
 *
 * @since 0.2.0
 * @category type-level
 */
export type IsUninferred<E> = checks.IsUninferred<E>

/**
 * The circuit a binding's primary runs through: a domain breaker's service key and, optionally, the circuit id
 * (default: the request's tag; for events, the event's tag and the handler's position).
 *
 * @since 0.1.0
 * @category bindings
 */
export type BreakerOptions<Self> = checks.BreakerOptions<Self>

/**
 * A message type bound to a primary and a fallback. `P` is the primary (a handler, or a chain of handlers), `K` the
 * failure tags that fall back (`never`: every failure falls back), `Fb` the fallback, which receives the message and
 * the failure that triggered it (a `CircuitOpenError` when the circuit did not admit the call) and answers like the
 * primary.
 *
 * @since 0.1.0
 * @category bindings
 */
export type FallbackBinding<P, K, Fb, Self> = checks.FallbackBinding<P, K, Fb, Self>

/**
 * A fallback binding whose `on` is a predicate: the failures it rejects pass through.
 *
 * @since 0.1.0
 * @category bindings
 */
export type PredicateFallbackBinding<P, On, Fb, Self> = checks.PredicateFallbackBinding<P, On, Fb, Self>

type Req<C extends { readonly Type: unknown }> = checks.Req<C>
type Err<C extends { readonly Type: unknown }> = checks.Err<C>
type Trigger<E, Self> = checks.Trigger<E, Self>
type Answer<C extends { readonly Type: unknown }, E, R> = checks.Answer<C, E, R>

/**
 * What a fallback receives third: for a streaming request `{ emitted }`, the number of items the primary delivered
 * (so that it can resume); nothing for a request.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ProgressFor<C> = checks.ProgressFor<C>

/**
 * What a request type is bound to: a handler returning an Effect (a chain made by `Mediator.chain` is one), or, for a
 * streaming request, a function returning a Stream.
 *
 * @since 0.1.0
 * @category type-level
 */
export type HandlerFor<C extends { readonly Type: unknown }, E, R> = checks.HandlerFor<C, E, R>

/**
 * The fallback of a binding: it receives the request, the trigger and, for a streaming request, `{ emitted }`, and
 * answers like the primary (`Checked` carries the compile-time checks).
 *
 * @since 0.1.0
 * @category type-level
 */
export type FallbackFor<C extends { readonly Type: unknown }, T, Checked> = checks.FallbackFor<C, T, Checked>

/**
 * A fallback's answer with its checks: `on` names failures of the primary (`E`), and the failures that do not fall
 * back are declared by the request.
 *
 * @since 0.1.0
 * @category type-level
 */
export type CheckedAnswer<E, K, Declared, Answer> = checks.CheckedAnswer<E, K, Declared, Answer>

/**
 * A request (or streaming request) type bound to its handling, made by `bind`.
 *
 * @since 0.1.0
 * @category bindings
 */
export type RequestBinding<R> = checks.RequestBinding<R>

/**
 * An event handler subscribed to an event type, made by `subscribe`.
 *
 * @since 0.1.0
 * @category bindings
 */
export type EventBinding<R> = checks.EventBinding<R>

/**
 * A group of request bindings (python-cqrs's `RequestMap`), to assemble from several modules.
 *
 * @since 0.1.0
 * @category bindings
 */
export type RequestMap<R> = checks.RequestMap<R>

/**
 * A group of event bindings (python-cqrs's `EventMap`).
 *
 * @since 0.1.0
 * @category bindings
 */
export type EventMap<R> = checks.EventMap<R>

/**
 * The services needed by a binding or a map.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Services<B> = checks.Services<B>

/**
 * Binds a request type to its handling: a handler `(request) => Effect` (a chain of responsibility made by
 * `Mediator.chain` is one), or a fallback binding `{ primary, fallback, on?, breaker?, id? }`. `on` is a non-empty
 * list of the primary's failure tags, or a predicate; omitted, every failure falls back. The fallback receives the
 * request and the failure that triggered it (a `CircuitOpenError` when the circuit did not admit the call). The
 * circuit id defaults to the request's tag.
 *
 * A streaming request type binds to `(request) => Stream`, or to `{ primary, fallback, ... }` of such functions; its
 * fallback also receives `{ emitted }`, the number of items the primary delivered, so that it can resume.
 *
 * The compiler checks that every handler takes this request and answers with its response, that `on` names
 * failures the primary has, and that the failures the binding can end with are declared in the request's `error`
 * schema. Write `primary` before `fallback`: the fallback's trigger type is read from the primary.
 *
 * ```ts
 * import { Data, Effect, Schema } from "effect"
 * import { CircuitBreaker, Mediator } from "effect-fallback"
 *
 * class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
 * class RequestsBreaker extends CircuitBreaker.Service<RequestsBreaker>()("app/RequestsBreaker") {}
 * class GetName extends Mediator.Request<GetName>()("GetName", { userId: Schema.String }, {
 *   response: Schema.String
 * }) {}
 *
 * const binding = Mediator.bind(GetName, {
 *   primary: (request): Effect.Effect<string, ConnectionError> => Effect.fail(new ConnectionError()),
 *   fallback: (request, trigger) => Effect.succeed(`Unknown User (${trigger._tag})`),
 *   on: ["ConnectionError"],
 *   breaker: RequestsBreaker
 * })
 * ```
 *
 * @since 0.1.0
 * @category bindings
 */
export const bind: {
  <C extends AnyRequestClass | AnyStreamRequestClass, R = never>(
    request: C,
    handler: HandlerFor<C, Err<C>, R>
  ): RequestBinding<NoInfer<R>>
  <C extends AnyRequestClass | AnyStreamRequestClass, E = Uninferred, R = never, R2 = never, Self = never>(
    request: C,
    binding: PredicateFallbackBinding<
      HandlerFor<C, E, R>,
      (error: NoInfer<E>) => boolean,
      FallbackFor<C, NoInfer<Trigger<E, Self>>, CheckDeclared<E, Err<C>, Answer<C, Err<C>, R2>>>,
      Self
    >
  ): RequestBinding<NoInfer<R | R2 | Self>>
  <
    C extends AnyRequestClass | AnyStreamRequestClass,
    E = Uninferred,
    R = never,
    const K extends NonEmptyReadonlyArray<string> = never,
    R2 = never,
    Self = never
  >(
    request: C,
    binding: FallbackBinding<
      HandlerFor<C, E, R>,
      K,
      FallbackFor<C, NoInfer<Trigger<Caught<E, K>, Self>>, CheckedAnswer<E, K, Err<C>, Answer<C, Err<C>, R2>>>,
      Self
    >
  ): RequestBinding<NoInfer<R | R2 | Self>>
} = internal.bind as any

/**
 * Subscribes a handler to an event type: a function returning an Effect, or `{ primary, fallback, on?, breaker?,
 * id? }`. An event type takes any number of handlers; each one is isolated (its failure is logged and counted, the
 * others still run). The id names the handler in logs and metrics and is its circuit id; by default it is the
 * event's tag and the handler's position among that event's handlers (`"UserJoined#0"`).
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class UserJoined extends Mediator.Event<UserJoined>()("UserJoined", { userId: Schema.String }) {}
 *
 * const welcome = Mediator.subscribe(UserJoined, (event) => Effect.log(`welcome ${event.userId}`), { id: "welcome" })
 * ```
 *
 * @since 0.1.0
 * @category bindings
 */
export const subscribe: {
  <
    C extends AnyEventClass,
    E = Uninferred,
    R = never,
    const K extends NonEmptyReadonlyArray<string> = never,
    E2 = never,
    R2 = never,
    Self = never
  >(
    event: C,
    binding: FallbackBinding<
      (event: Req<C>) => Effect.Effect<unknown, E, R>,
      K,
      (
        event: Req<C>,
        trigger: NoInfer<Trigger<Caught<E, K>, Self>>
      ) => CheckedAnswer<E, K, unknown, Effect.Effect<unknown, E2, R2>>,
      Self
    >
  ): EventBinding<NoInfer<R | R2 | Self>>
  <C extends AnyEventClass, E = Uninferred, R = never, E2 = never, R2 = never, Self = never>(
    event: C,
    binding: PredicateFallbackBinding<
      (event: Req<C>) => Effect.Effect<unknown, E, R>,
      (error: NoInfer<E>) => boolean,
      (event: Req<C>, trigger: NoInfer<Trigger<E, Self>>) => Effect.Effect<unknown, E2, R2>,
      Self
    >
  ): EventBinding<NoInfer<R | R2 | Self>>
  <C extends AnyEventClass, E = never, R = never>(
    event: C,
    handler: (event: Req<C>) => Effect.Effect<unknown, E, R>,
    options?: { readonly id?: string | undefined }
  ): EventBinding<NoInfer<R>>
} = internal.subscribe as any

/**
 * Groups request bindings (and other request maps) into one map.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Ping extends Mediator.Request<Ping>()("Ping", {}, { response: Schema.String }) {}
 * const requests = Mediator.requestMap(Mediator.bind(Ping, () => Effect.succeed("pong")))
 * ```
 *
 * @since 0.1.0
 * @category bindings
 */
export const requestMap = <const Entries extends ReadonlyArray<RequestBinding<unknown> | RequestMap<unknown>>>(
  ...entries: Entries
): RequestMap<Services<Entries[number]>> => internal.makeMap("RequestMap", entries) as any

/**
 * Groups event bindings (and other event maps) into one map.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Pinged extends Mediator.Event<Pinged>()("Pinged", {}) {}
 * const events = Mediator.eventMap(Mediator.subscribe(Pinged, () => Effect.log("pinged")))
 * ```
 *
 * @since 0.1.0
 * @category bindings
 */
export const eventMap = <const Entries extends ReadonlyArray<EventBinding<unknown> | EventMap<unknown>>>(
  ...entries: Entries
): EventMap<Services<Entries[number]>> => internal.makeMap("EventMap", entries) as any

// ---------------------------------------------------------------------------------------------------------------
// The mediator service
// ---------------------------------------------------------------------------------------------------------------

/**
 * How the handlers of one event run: one after the other in subscription order (`"sequential"`, the default), all
 * at once (`"unbounded"`), or at most `n` at a time. The events raised by one handler are published one after the
 * other, in the order they were raised.
 *
 * @since 0.1.0
 * @category options
 */
export type EventConcurrency = "sequential" | "unbounded" | number

/**
 * When the events a handler raised are delivered: before the handler's answer is given (`"awaited"`, the default:
 * when `send` returns, their handlers have run), or beside it (`"detached"`: `send` answers at once and the events
 * are published in a fiber of the mediator's scope, interrupted when the mediator's layer is released).
 *
 * @since 0.2.0
 * @category options
 */
export type EventDelivery = "awaited" | "detached"

/**
 * The mediator: dispatches requests to their handlers and events to their subscribers.
 *
 * @since 0.1.0
 * @category services
 */
export interface Mediator {
  readonly send: <Req extends AnyRequest>(
    request: Req
  ) => Effect.Effect<ResponseOf<Req>, ErrorOf<Req> | HandlerNotFound>
  readonly stream: <Req extends AnyStreamRequest>(
    request: Req
  ) => Stream.Stream<ResponseOf<Req>, ErrorOf<Req> | HandlerNotFound>
  readonly publish: (event: AnyEvent) => Effect.Effect<void>
  readonly sendUnknown: (payload: unknown) => Effect.Effect<unknown, unknown>
  readonly streamUnknown: (payload: unknown) => Stream.Stream<unknown, unknown>
  readonly publishUnknown: (payload: unknown) => Effect.Effect<void, MessageDecodeError>
}

/**
 * The service key of the mediator.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * const program = Effect.gen(function*() {
 *   const mediator = yield* Mediator.Mediator
 *   return mediator.send
 * })
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export const Mediator: Context.Service<Mediator, Mediator> = service.Mediator

/**
 * Builds the mediator from request and event bindings (or maps), as a Layer. The handlers' services are taken from
 * the layer's requirements, so `send`, `stream` and `publish` need only the `Mediator`; handlers may themselves
 * use the mediator. The layer fails with `DuplicateBinding` when a request type is bound twice, and with
 * `InvalidBinding` for a malformed binding or option.
 *
 * Options besides the bindings:
 * - `eventConcurrency`: how the handlers of one event run (see `EventConcurrency`).
 * - `maxDepth` (default 64, at most 10,000): how many dispatches may nest, a handler sending, streaming,
 *   publishing or emitting inside another's run. One level deeper dies with `DispatchDepthExceeded`, which names
 *   the chain of messages: a handler that sends its own request, or an event handler that emits its own event, ends
 *   there instead of exhausting the process's memory.
 * - `eventHandlerTimeout` (default 30 seconds; `"Infinity"` for none): how long one event handler may run on one
 *   event. Past it the handler is interrupted, and the run is logged and counted in `eventHandlerFailures` like a
 *   failure (`EventHandlerTimeout`).
 * - `eventDelivery` (default `"awaited"`): see `EventDelivery`.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Ping extends Mediator.Request<Ping>()("Ping", {}, { response: Schema.String }) {}
 * class Pinged extends Mediator.Event<Pinged>()("Pinged", {}) {}
 *
 * const MediatorLive = Mediator.layer({
 *   requests: [Mediator.bind(Ping, () => Mediator.emit(new Pinged()).pipe(Effect.as("pong")))],
 *   events: [Mediator.subscribe(Pinged, () => Effect.log("pinged"))],
 *   eventConcurrency: "unbounded"
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <
  const Requests extends ReadonlyArray<RequestBinding<unknown> | RequestMap<unknown>> = readonly [],
  const Events extends ReadonlyArray<EventBinding<unknown> | EventMap<unknown>> = readonly []
>(options: {
  readonly requests?: Requests | undefined
  readonly events?: Events | undefined
  readonly eventConcurrency?: EventConcurrency | undefined
  readonly maxDepth?: number | undefined
  readonly eventHandlerTimeout?: Duration.Input | undefined
  readonly eventDelivery?: EventDelivery | undefined
}): Layer.Layer<
  Mediator,
  DuplicateBinding | InvalidBinding,
  NoInfer<Exclude<Services<Requests[number]> | Services<Events[number]>, Mediator>>
> => internal.layer(options) as any

/**
 * Sends a request to its handler; the result is the request's response. Events the handler raised are published
 * after it succeeded (a failing event handler never fails the send).
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Ping extends Mediator.Request<Ping>()("Ping", {}, { response: Schema.String }) {}
 * const pong = Mediator.send(new Ping()) // Effect<string, HandlerNotFound, Mediator>
 * ```
 *
 * @since 0.1.0
 * @category dispatch
 */
export const send: <Req extends AnyRequest>(
  request: Req
) => Effect.Effect<ResponseOf<Req>, ErrorOf<Req> | HandlerNotFound, Mediator> = internal.send

/**
 * Runs a streaming request; each item is the request's response type. Events raised while an item was produced are
 * published before that item is delivered.
 *
 * ```ts
 * import { Schema, Stream } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Count extends Mediator.StreamRequest<Count>()("Count", { to: Schema.Number }, { response: Schema.Number }) {}
 * const numbers = Mediator.stream(new Count({ to: 3 })).pipe(Stream.runCollect)
 * ```
 *
 * @since 0.1.0
 * @category dispatch
 */
export const stream: <Req extends AnyStreamRequest>(
  request: Req
) => Stream.Stream<ResponseOf<Req>, ErrorOf<Req> | HandlerNotFound, Mediator> = internal.stream

/**
 * Publishes an event to every handler subscribed to its type. Never fails: a failing handler is logged (Error
 * level) and counted in `eventHandlerFailures`, and the other handlers still run.
 *
 * ```ts
 * import { Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class Pinged extends Mediator.Event<Pinged>()("Pinged", {}) {}
 * const done = Mediator.publish(new Pinged()) // Effect<void, never, Mediator>
 * ```
 *
 * @since 0.1.0
 * @category dispatch
 */
export const publish: (event: AnyEvent) => Effect.Effect<void, never, Mediator> = internal.publish

/**
 * Decodes a payload from the outside (JSON from HTTP or a queue) as one of the bound request types, then sends it.
 * A payload that is not a valid request fails with `MessageDecodeError` before any handler runs. The response and
 * the failures are typed `unknown`, since the request is known only at run time; decode with the request's class
 * (`Schema.decodeUnknownEffect(GetUser)`) and `send` to keep the types.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * const fromQueue = (json: unknown) =>
 *   Mediator.sendUnknown(json).pipe(
 *     Effect.catchIf(Mediator.isMessageDecodeError, (e) => Effect.succeed({ status: 400, error: e.message }))
 *   )
 * ```
 *
 * @since 0.1.0
 * @category dispatch
 */
export const sendUnknown: (payload: unknown) => Effect.Effect<unknown, unknown, Mediator> = internal.sendUnknown

/**
 * Decodes a payload as one of the bound streaming request types, then streams it.
 *
 * ```ts
 * import { Stream } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * const items = Mediator.streamUnknown({ _tag: "StreamItems", itemIds: ["a"] }).pipe(Stream.runCollect)
 * ```
 *
 * @since 0.1.0
 * @category dispatch
 */
export const streamUnknown: (payload: unknown) => Stream.Stream<unknown, unknown, Mediator> = internal.streamUnknown

/**
 * Decodes a payload as one of the subscribed event types, then publishes it.
 *
 * ```ts
 * import { Mediator } from "effect-fallback"
 *
 * const fromQueue = (json: unknown) => Mediator.publishUnknown(json) // Effect<void, MessageDecodeError, Mediator>
 * ```
 *
 * @since 0.1.0
 * @category dispatch
 */
export const publishUnknown: (payload: unknown) => Effect.Effect<void, MessageDecodeError, Mediator> =
  internal.publishUnknown

/**
 * Raises an event from inside a handler run by the mediator. The event is published after the handler's attempt
 * succeeded; the events of an attempt that failed (a primary that fell back) are discarded. In a streaming
 * handler, it is published before the next item is delivered. Used outside a handler, it dies: the event would be
 * lost.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * class UserJoined extends Mediator.Event<UserJoined>()("UserJoined", { userId: Schema.String }) {}
 * class Join extends Mediator.Request<Join>()("Join", { userId: Schema.String }, { response: Schema.Boolean }) {}
 *
 * const join = Mediator.bind(Join, (request) =>
 *   Effect.gen(function*() {
 *     yield* Mediator.emit(new UserJoined({ userId: request.userId }))
 *     return true
 *   }))
 * ```
 *
 * @since 0.1.0
 * @category dispatch
 */
export const emit: (event: AnyEvent) => Effect.Effect<void> = internal.emit

/**
 * Failed event handler runs (after their fallback, if any), by `event` tag and `handler` id.
 *
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Mediator } from "effect-fallback"
 *
 * const failures = Metric.value(
 *   Metric.withAttributes(Mediator.eventHandlerFailures, { event: "UserJoined", handler: "UserJoined#0" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventHandlerFailures: Metric.Counter<number> = service.eventHandlerFailures
