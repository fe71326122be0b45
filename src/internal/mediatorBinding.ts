import { Formatter, Metric } from "effect"
import type { Effect, Schema, Stream } from "effect"
import type * as Fallback from "../Fallback.ts"
import { prepareRecovery, prepareStream } from "./fallback.ts"
import { InvalidFallbackOptions } from "./fallbackErrors.ts"
import { type Attempt, attemptStream, eventfulStream, fallbackAttempt } from "./mediatorAttempt.ts"
import { invalidChainOf } from "./mediatorChain.ts"
import { InvalidBinding } from "./mediatorErrors.ts"
import { BindingTypeId, type Kind, markerOf } from "./mediatorSchema.ts"
import { eventHandlerFailures } from "./mediatorService.ts"

// Bindings: what `bind` and `subscribe` record, and what each becomes when the mediator's layer builds (an entry
// the runtime dispatches to). Everything here runs while the layer builds: a malformed binding throws
// `InvalidBinding`, which the layer fails with.

type AnyEffect = Effect.Effect<unknown, unknown, unknown>
type AnyStream = Stream.Stream<unknown, unknown, unknown>
/** @internal */
export type AnySchema = Schema.Decoder<unknown, unknown>

const variance = { _R: (_: never) => _ }

/** What `bind`, `subscribe` and the maps record; checked and compiled when the layer builds. @internal */
export interface RawBinding {
  readonly [BindingTypeId]: typeof variance
  readonly kind: Kind | "RequestMap" | "EventMap"
  readonly tag: string
  readonly schema: unknown
  readonly spec: unknown
  readonly id?: unknown
  readonly bindings?: ReadonlyArray<RawBinding>
}

const makeBinding = (schema: unknown, spec: unknown, id: unknown): RawBinding => {
  const marker = markerOf(schema)
  return {
    [BindingTypeId]: variance,
    kind: marker?.kind ?? "Request",
    tag: marker?.tag ?? Formatter.format(schema),
    schema,
    spec,
    id
  }
}

/** @internal */
export const bind = (schema: unknown, spec: unknown): RawBinding => makeBinding(schema, spec, undefined)

/** @internal */
export const subscribe = (schema: unknown, spec: unknown, options?: { readonly id?: unknown }): RawBinding =>
  makeBinding(schema, spec, typeof spec === "function" ? options?.id : (spec as { id?: unknown } | undefined)?.id)

/** @internal */
export const makeMap = (kind: "RequestMap" | "EventMap", entries: ReadonlyArray<unknown>): RawBinding => ({
  [BindingTypeId]: variance,
  kind,
  tag: kind,
  schema: undefined,
  spec: undefined,
  bindings: entries as ReadonlyArray<RawBinding>
})

/** The bindings of a list, maps flattened in place. @internal */
export const flatten = (entries: ReadonlyArray<RawBinding>, out: Array<RawBinding> = []): Array<RawBinding> => {
  for (const entry of entries) {
    if (entry !== null && typeof entry === "object" && entry.bindings !== undefined) flatten(entry.bindings, out)
    else out.push(entry)
  }
  return out
}

/** @internal */
export const isBinding = (u: unknown): u is RawBinding => typeof u === "object" && u !== null && BindingTypeId in u

// ---------------------------------------------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------------------------------------------

/** A request type's handling: `run` calls the handler (it may throw) with the request. @internal */
export interface RequestEntry {
  readonly tag: string
  readonly schema: AnySchema
  readonly run: (message: any) => AnyEffect
}

/** A streaming request type's handling, as the stream of one call. @internal */
export interface StreamEntry {
  readonly tag: string
  readonly schema: AnySchema
  readonly stream: (call: Attempt) => AnyStream
}

/** One handler of an event type: `run` calls it (it may throw) with the event. @internal */
export interface EventEntry {
  readonly tag: string
  readonly id: string
  readonly run: (message: any) => AnyEffect
  readonly failures: Metric.Counter<number>
}

type Handler = (...args: Array<any>) => any

/** A field of a binding that must be a function (a malformed chain carries its own error). */
const functionOf = (tag: string, field: string, expected: string, spec: unknown): Handler => {
  const invalidChain = invalidChainOf(spec)
  if (invalidChain !== undefined) throw invalidChain
  if (typeof spec === "function") return spec as Handler
  throw new InvalidBinding({ tag, field, expected, value: spec })
}

interface FallbackSpec {
  readonly primary: unknown
  readonly fallback: unknown
  readonly on?: unknown
  readonly breaker?: unknown
  readonly id?: unknown
}

const isFallbackSpec = (spec: unknown): spec is FallbackSpec =>
  spec !== null && typeof spec === "object" && !Array.isArray(spec) && "primary" in spec

/** @internal */
export const primaryOf = (spec: unknown): unknown => (isFallbackSpec(spec) ? spec.primary : spec)

/** A circuit id given by the user: a non-empty string. @internal */
export const checkId = (tag: string, id: unknown): string | undefined => {
  if (id === undefined || (typeof id === "string" && id.length > 0)) return id
  throw new InvalidBinding({ tag, field: "id", expected: "a non-empty string", value: id })
}

const fallbackOptions = (spec: FallbackSpec, id: string) => ({ on: spec.on, breaker: spec.breaker, id })

/** Fallback's options checked once for the binding; what Fallback refuses is an `InvalidBinding` of the tag. */
const prepared = <A>(tag: string, prepare: () => A): A => {
  try {
    return prepare()
  } catch (error) {
    if (!(error instanceof InvalidFallbackOptions)) throw error
    throw new InvalidBinding({ tag, field: error.field, expected: error.expected, value: error.value })
  }
}

/** A fallback binding of an Effect handler: primary and fallback run as attempts of the call, on its message. */
const fallbackEffect = (tag: string, spec: FallbackSpec, id: string): ((message: any) => AnyEffect) => {
  const primary = functionOf(tag, "primary", "a handler function", spec.primary)
  const fallback = functionOf(tag, "fallback", "a handler function (request, trigger) => Effect", spec.fallback)
  const recovery = prepared(tag, () => prepareRecovery(fallbackOptions(spec, id) as any))
  return (message) => fallbackAttempt(recovery, primary, fallback, message)
}

/** @internal */
export const compileRequest = (binding: RawBinding): RequestEntry => {
  const { spec, tag } = binding
  const schema = binding.schema as AnySchema
  if (isFallbackSpec(spec)) return { tag, schema, run: fallbackEffect(tag, spec, checkId(tag, spec.id) ?? tag) }
  return { tag, schema, run: functionOf(tag, "handler", "a handler function", spec) }
}

/** @internal */
export const compileStream = (binding: RawBinding): StreamEntry => {
  const { spec, tag } = binding
  const schema = binding.schema as AnySchema
  if (isFallbackSpec(spec)) {
    const primary = functionOf(tag, "primary", "a function returning a Stream", spec.primary)
    const fallback = functionOf(tag, "fallback", "a function (request, trigger, { emitted }) => Stream", spec.fallback)
    const id = checkId(tag, spec.id) ?? tag
    const recover = prepared(tag, () => prepareStream(fallbackOptions(spec, id) as any))
    return {
      tag,
      schema,
      stream: (call) =>
        recover(
          attemptStream(() => primary(call.message), call),
          (trigger: unknown, progress: Fallback.StreamProgress) =>
            attemptStream(() => fallback(call.message, trigger, progress), call)
        )
    }
  }
  const producer = functionOf(tag, "handler", "a function returning a Stream, or { primary, fallback, ... }", spec)
  return { tag, schema, stream: (call) => eventfulStream(producer(call.message), call) }
}

/** @internal */
export const compileEvent = (binding: RawBinding, id: string): EventEntry => {
  const { spec, tag } = binding
  const failures = Metric.withAttributes(eventHandlerFailures, { event: tag, handler: id })
  const run = isFallbackSpec(spec)
    ? fallbackEffect(tag, spec, id)
    : functionOf(tag, "handler", "a handler function", spec)
  return { tag, id, failures, run }
}
