import { Cause, Effect, Formatter } from "effect"
import { ChainExhausted, InvalidBinding } from "./mediatorErrors.ts"
import { markerOf } from "./mediatorSchema.ts"

// A chain of responsibility as one handler: each link answers the request or passes it on with `Mediator.next`;
// past the last link the chain fails with `ChainExhausted`.

type AnyEffect = Effect.Effect<unknown, unknown, unknown>

/** The defect by which a link passes the request on; the chain runner takes it back, so it never leaves a chain. */
class PassToNext extends Error {
  constructor() {
    super("Mediator.next ran outside a chain of responsibility: there is no next link to hand the request to")
    this.name = "PassToNext"
  }
}
const passToNext = new PassToNext()

/** @internal */
export const next: Effect.Effect<never> = Effect.die(passToNext)

const isPass = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.length === 1 && Cause.isDieReason(cause.reasons[0]) && cause.reasons[0].defect === passToNext

const chainHandler = (links: ReadonlyArray<(message: any) => AnyEffect>) => {
  const count = links.length
  const from = (message: any, index: number): AnyEffect =>
    index === count
      ? Effect.fail(new ChainExhausted({ tag: message._tag, links: count }))
      : Effect.catchCause(
          Effect.suspend(() => links[index](message)),
          (cause) => (isPass(cause) ? from(message, index + 1) : Effect.failCause(cause))
        )
  return (message: any): AnyEffect => from(message, 0)
}

const InvalidLinks: unique symbol = Symbol.for("effect-fallback/Mediator/InvalidLinks")

/**
 * A chain made of something other than handler functions (from untyped code) is a handler that carries the
 * `InvalidBinding`: the mediator's layer fails with it when the chain is bound, as with any malformed binding, and
 * the handler dies with it if called anyway.
 *
 * @internal
 */
export const chain = (request: unknown, ...links: ReadonlyArray<unknown>): ((message: any) => AnyEffect) => {
  if (links.length > 0 && links.every((link) => typeof link === "function")) {
    return chainHandler(links as ReadonlyArray<(message: any) => AnyEffect>)
  }
  const tag = markerOf(request)?.tag ?? Formatter.format(request)
  const error = new InvalidBinding({ tag, field: "links", expected: "one or more handler functions", value: links })
  return Object.assign((): AnyEffect => Effect.die(error), { [InvalidLinks]: error })
}

/** The `InvalidBinding` a malformed chain carries, if `handler` is one. @internal */
export const invalidChainOf = (handler: unknown): InvalidBinding | undefined =>
  typeof handler === "function" ? (handler as { readonly [InvalidLinks]?: InvalidBinding })[InvalidLinks] : undefined
