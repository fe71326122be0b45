import type { Schema } from "effect"
import type { Covariant } from "effect/Types"
import type { ClassTypeId, TypeId } from "./mediatorSchema.ts"

// The types of messages: requests (answered once), streaming requests (answered by a stream) and events, as Schema
// classes whose instances carry, at the type level only, what they ask for. The public `Mediator` module re-exports
// them with their documentation.

/** @internal */
export interface RequestMessage<out A, out E> {
  readonly _tag: string
  readonly [TypeId]: { readonly _kind: "Request"; readonly _A: Covariant<A>; readonly _E: Covariant<E> }
}

/** @internal */
export interface StreamRequestMessage<out A, out E> {
  readonly _tag: string
  readonly [TypeId]: { readonly _kind: "StreamRequest"; readonly _A: Covariant<A>; readonly _E: Covariant<E> }
}

/** @internal */
export interface EventMessage {
  readonly _tag: string
  readonly [TypeId]: { readonly _kind: "Event" }
}

/** @internal */
export type AnyRequest = RequestMessage<any, any>

/** @internal */
export type AnyStreamRequest = StreamRequestMessage<any, any>

/** @internal */
export type AnyEvent = EventMessage

/** @internal */
export type ResponseOf<R> = R extends { readonly [TypeId]: { readonly _A: Covariant<infer A> } } ? A : never

/** @internal */
export type ErrorOf<R> = R extends { readonly [TypeId]: { readonly _E: Covariant<infer E> } } ? E : never

/** @internal */
export type MissingSelfGeneric<Usage extends string> =
  `Missing \`Self\` generic - use \`class Self extends Mediator.${Usage}<Self>()(...)\``

/** @internal */
export interface RequestClass<
  Self,
  Tag extends string,
  Fields extends Schema.Struct.Fields,
  Res extends Schema.Top,
  Err extends Schema.Top
> extends Schema.Class<Self, Schema.TaggedStruct<Tag, Fields>, RequestMessage<Res["Type"], Err["Type"]>> {
  readonly [ClassTypeId]: { readonly kind: "Request"; readonly tag: string }
  readonly response: Res
  readonly error: Err
}

/** @internal */
export interface StreamRequestClass<
  Self,
  Tag extends string,
  Fields extends Schema.Struct.Fields,
  Res extends Schema.Top,
  Err extends Schema.Top
> extends Schema.Class<Self, Schema.TaggedStruct<Tag, Fields>, StreamRequestMessage<Res["Type"], Err["Type"]>> {
  readonly [ClassTypeId]: { readonly kind: "StreamRequest"; readonly tag: string }
  readonly response: Res
  readonly error: Err
}

/** @internal */
export interface EventClass<Self, Tag extends string, Fields extends Schema.Struct.Fields> extends Schema.Class<
  Self,
  Schema.TaggedStruct<Tag, Fields>,
  EventMessage
> {
  readonly [ClassTypeId]: { readonly kind: "Event"; readonly tag: string }
}

/** @internal */
export interface AnyRequestClass extends Schema.Top {
  readonly [ClassTypeId]: { readonly kind: "Request"; readonly tag: string }
  readonly Type: AnyRequest
  readonly response: Schema.Top
  readonly error: Schema.Top
}

/** @internal */
export interface AnyStreamRequestClass extends Schema.Top {
  readonly [ClassTypeId]: { readonly kind: "StreamRequest"; readonly tag: string }
  readonly Type: AnyStreamRequest
  readonly response: Schema.Top
  readonly error: Schema.Top
}

/** @internal */
export interface AnyEventClass extends Schema.Top {
  readonly [ClassTypeId]: { readonly kind: "Event"; readonly tag: string }
  readonly Type: AnyEvent
}
