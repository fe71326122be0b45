import { Schema } from "effect"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-fallback/Mediator/Message")

/** @internal */
export const BindingTypeId: unique symbol = Symbol.for("effect-fallback/Mediator/Binding")

/** @internal */
export const ClassTypeId: unique symbol = Symbol.for("effect-fallback/Mediator/MessageClass")

/** @internal */
export type Kind = "Request" | "StreamRequest" | "Event"

/**
 * A tagged Schema class carrying, as statics, its kind and (for requests) its response and error schemas. The
 * statics live on the base class, so the user's `class X extends Mediator.Request<X>()(...)` inherits them.
 *
 * @internal
 */
export const makeClass = (
  kind: Kind,
  tag: string,
  fields: Schema.Struct.Fields,
  options: { readonly response: Schema.Top; readonly error?: Schema.Top | undefined } | undefined
): any => {
  const base = Schema.TaggedClass<any>()(tag, fields) as any
  Object.defineProperty(base, ClassTypeId, { value: { kind, tag } })
  if (options !== undefined) {
    Object.defineProperty(base, "response", { value: options.response, enumerable: true })
    Object.defineProperty(base, "error", { value: options.error ?? Schema.Never, enumerable: true })
  }
  return base
}

/** The kind and tag of a message class, or `undefined` for anything else. @internal */
export const markerOf = (u: unknown): { readonly kind: Kind; readonly tag: string } | undefined =>
  typeof u === "function" ? (u as any)[ClassTypeId] : undefined
