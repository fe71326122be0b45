/**
 * `Error.stackTraceLimit` is a V8 extension: it is absent from the ES `ErrorConstructor` type (it comes from Node's
 * types) and may be read-only or missing on other engines. It is read and written through these two guarded
 * helpers only, as Effect's own `internal/stackTraceLimit.ts` does.
 */
const ErrorWithLimit = Error as unknown as { stackTraceLimit?: number }

/**
 * Turns stack capture off and returns what to restore. Errors that are part of normal operation describe themselves
 * in their fields and message, and capturing a stack costs several microseconds each:
 * `const limit = disableStackTrace(); try { super(args) } finally { restoreStackTrace(limit) }`.
 *
 * @internal
 */
export const disableStackTrace = (): number | undefined => {
  const limit = ErrorWithLimit.stackTraceLimit
  if (typeof limit !== "number") return undefined
  try {
    ErrorWithLimit.stackTraceLimit = 0
  } catch {
    return undefined
  }
  return limit
}

/**
 * Puts back what `disableStackTrace` returned.
 *
 * @internal
 */
export const restoreStackTrace = (limit: number | undefined): void => {
  if (limit === undefined) return
  try {
    ErrorWithLimit.stackTraceLimit = limit
  } catch {
    // a frozen Error constructor: nothing was changed either
  }
}
