import { Data, Formatter, Schema } from "effect"
import { StacklessTaggedError } from "./stacklessError.ts"

/** @internal */
export class HandlerNotFound extends StacklessTaggedError("HandlerNotFound")<{
  readonly kind: "Request" | "StreamRequest"
  readonly tag: string
}> {
  override get message(): string {
    return `no handler is bound to the ${this.kind === "Request" ? "request" : "streaming request"} ${this.tag}`
  }
}

/** @internal */
export class DuplicateBinding extends Data.TaggedError("DuplicateBinding")<{
  readonly kind: "Request" | "StreamRequest" | "Event"
  readonly tag: string
  /** The event handler id bound twice; absent for requests. */
  readonly id?: string | undefined
}> {
  override get message(): string {
    return this.kind === "Event"
      ? `the event ${this.tag} has two handlers with the id "${this.id}" (the same handler subscribed twice, or ` +
          `two handlers given one id)`
      : `the ${this.kind === "Request" ? "request" : "streaming request"} ${this.tag} is bound twice`
  }
}

/** @internal */
export class InvalidBinding extends Data.TaggedError("InvalidBinding")<{
  readonly tag: string
  readonly field: string
  readonly expected: string
  readonly value: unknown
}> {
  override get message(): string {
    return `invalid mediator binding for ${this.tag}: ${this.field} must be ${this.expected}, got ${Formatter.format(
      this.value
    )}`
  }
}

/** @internal */
export class MessageDecodeError extends Data.TaggedError("MessageDecodeError")<{
  readonly kind: "Request" | "StreamRequest" | "Event"
  readonly tag: string | undefined
  readonly cause: Schema.SchemaError
}> {
  override get message(): string {
    const what = this.kind === "Event" ? "event" : this.kind === "Request" ? "request" : "streaming request"
    return `cannot decode ${what}${this.tag === undefined ? "" : ` ${this.tag}`}: ${this.cause.message}`
  }
}

/** @internal */
export const isMessageDecodeError = (u: unknown): u is MessageDecodeError => u instanceof MessageDecodeError

/** @internal */
export const isHandlerNotFound = (u: unknown): u is HandlerNotFound => u instanceof HandlerNotFound

/** @internal */
export class ChainExhausted extends StacklessTaggedError("ChainExhausted")<{
  readonly tag: string
  readonly links: number
}> {
  override get message(): string {
    return `all ${this.links} links of the chain for ${this.tag} passed the request on`
  }
}

/** @internal */
export const ChainExhaustedSchema: Schema.instanceOf<ChainExhausted> = Schema.instanceOf(ChainExhausted)
