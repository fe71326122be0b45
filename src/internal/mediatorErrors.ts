import { Data, Duration, Formatter, Schema } from "effect"
import { truncate } from "./failure.ts"
import { StacklessTaggedError } from "./stacklessError.ts"

/** @internal */
export class HandlerNotFound extends StacklessTaggedError("HandlerNotFound")<{
  readonly kind: "Request" | "StreamRequest"
  readonly tag: string
}> {
  override get message(): string {
    return `no handler is bound to the ${this.kind === "Request" ? "request" : "streaming request"} ${truncate(this.tag)}`
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
    return `invalid mediator binding for ${truncate(this.tag)}: ${this.field} must be ${this.expected}, got ${truncate(
      Formatter.format(this.value)
    )}`
  }
}

/** The longest Schema explanation a `MessageDecodeError` repeats (it quotes the payload). */
const MAX_CAUSE = 2_000

/** @internal */
export class MessageDecodeError extends Data.TaggedError("MessageDecodeError")<{
  readonly kind: "Request" | "StreamRequest" | "Event"
  readonly tag: string | undefined
  readonly cause: Schema.SchemaError
}> {
  override get message(): string {
    const what = this.kind === "Event" ? "event" : this.kind === "Request" ? "request" : "streaming request"
    return `cannot decode ${what}${this.tag === undefined ? "" : ` ${truncate(this.tag)}`}: ${truncate(
      this.cause.message,
      MAX_CAUSE
    )}`
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

const MAX_CHAIN = 12

/** A message chain as one line: every tag when it is short, else its start and its end around the count skipped. */
const chainText = (chain: ReadonlyArray<string>): string => {
  const tags = chain.map((tag) => truncate(tag, 100))
  if (tags.length <= MAX_CHAIN) return tags.join(" -> ")
  const head = tags.slice(0, 4)
  const tail = tags.slice(tags.length - (MAX_CHAIN - 4))
  return `${head.join(" -> ")} -> … (${tags.length - MAX_CHAIN} more) -> ${tail.join(" -> ")}`
}

/** @internal */
export class DispatchDepthExceeded extends Data.TaggedError("DispatchDepthExceeded")<{
  readonly maxDepth: number
  /** The tags of the messages being handled, the outermost first, ending with the one refused. */
  readonly chain: ReadonlyArray<string>
}> {
  override get message(): string {
    return (
      `mediator dispatch deeper than ${this.maxDepth} levels (a handler sending, publishing or emitting what it ` +
      `handles?): ${chainText(this.chain)}`
    )
  }
}

/** @internal */
export class EventHandlerTimeout extends Data.TaggedError("EventHandlerTimeout")<{
  readonly event: string
  readonly handler: string
  readonly timeout: Duration.Duration
}> {
  override get message(): string {
    return `event handler ${truncate(this.handler)} did not finish ${truncate(this.event)} within ${Duration.format(
      this.timeout
    )}; it was interrupted`
  }
}
