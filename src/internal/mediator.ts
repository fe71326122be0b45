import { Context, Effect, Stream } from "effect"
import type { Fiber } from "effect"
import type * as M from "../Mediator.ts"
import type { MessageDecodeError } from "./mediatorErrors.ts"
import { Mediator as MediatorKey, SendOn, type SendsOnFiber } from "./mediatorService.ts"

// The module-level accessors: each reads the mediator from the fiber's context and hands it the message.

export { emit } from "./mediatorAttempt.ts"
export { bind, makeMap, subscribe } from "./mediatorBinding.ts"
export { chain, next } from "./mediatorChain.ts"
export { layer } from "./mediatorLayer.ts"

const mediatorOf = (fiber: Fiber.Fiber<unknown, unknown>): M.Mediator => Context.getUnsafe(fiber.context, MediatorKey)

/** @internal */
export const send = (request: M.AnyRequest): Effect.Effect<any, any, M.Mediator> =>
  Effect.withFiber((fiber) => {
    const mediator = mediatorOf(fiber) as M.Mediator & Partial<SendsOnFiber>
    const sendOn = mediator[SendOn]
    return sendOn === undefined ? mediator.send(request) : sendOn(fiber, request)
  }) as Effect.Effect<any, any, M.Mediator>

/** @internal */
export const stream = (request: M.AnyStreamRequest): Stream.Stream<any, any, M.Mediator> =>
  Stream.unwrap(Effect.withFiber((fiber) => Effect.succeed(mediatorOf(fiber).stream(request))))

/** @internal */
export const publish = (event: M.AnyEvent): Effect.Effect<void, never, M.Mediator> =>
  Effect.withFiber((fiber) => mediatorOf(fiber).publish(event))

/** @internal */
export const sendUnknown = (payload: unknown): Effect.Effect<unknown, unknown, M.Mediator> =>
  Effect.withFiber((fiber) => mediatorOf(fiber).sendUnknown(payload))

/** @internal */
export const streamUnknown = (payload: unknown): Stream.Stream<unknown, unknown, M.Mediator> =>
  Stream.unwrap(Effect.withFiber((fiber) => Effect.succeed(mediatorOf(fiber).streamUnknown(payload))))

/** @internal */
export const publishUnknown = (payload: unknown): Effect.Effect<void, MessageDecodeError, M.Mediator> =>
  Effect.withFiber((fiber) => mediatorOf(fiber).publishUnknown(payload))
