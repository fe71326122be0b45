import { Data } from "effect"
import { disableStackTrace, restoreStackTrace } from "./stackTraceLimit.ts"

/**
 * `Data.TaggedError` whose instances skip stack capture. For errors that are part of normal operation (a circuit
 * rejecting a call, a chain running out of providers): capturing a stack costs several microseconds per error, and
 * these errors say where they come from in their fields and message.
 *
 * @internal
 */
export const StacklessTaggedError = <Tag extends string>(tag: Tag): ReturnType<typeof Data.TaggedError<Tag>> => {
  const Base = Data.TaggedError(tag) as unknown as new (args: unknown) => object
  class Stackless extends Base {
    constructor(args: unknown) {
      const limit = disableStackTrace()
      try {
        super(args)
      } finally {
        restoreStackTrace(limit)
      }
    }
  }
  return Stackless as unknown as ReturnType<typeof Data.TaggedError<Tag>>
}
