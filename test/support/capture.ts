// What tests observe of a program besides its result: the log lines it wrote and the spans it opened.
import type { Cause } from "effect"
import { Logger, References, Tracer } from "effect"

export interface CapturedLog {
  readonly level: string
  /** The logged values, as passed to `Effect.log*`. */
  readonly message: ReadonlyArray<unknown>
  /** The logged values joined by spaces. */
  readonly text: string
  readonly cause: Cause.Cause<unknown>
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A logger that records every line; provide `layer` to the program under test. */
export const captureLogs = () => {
  const logs: Array<CapturedLog> = []
  const logger = Logger.make(({ cause, fiber, logLevel, message }) => {
    const values = message as ReadonlyArray<unknown>
    logs.push({
      level: logLevel,
      message: values,
      text: values.join(" "),
      cause,
      annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
    })
  })
  return { logs, layer: Logger.layer([logger]) }
}

/** A tracer that records every span it opens; provide it with `Effect.withTracer(tracer)`. */
export const captureSpans = () => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = Tracer.nativeTracer.span(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}
