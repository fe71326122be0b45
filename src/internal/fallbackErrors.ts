import { Data, Formatter } from "effect"

/** @internal */
export class InvalidFallbackOptions extends Data.TaggedError("InvalidFallbackOptions")<{
  readonly combinator: "Fallback.orElse" | "Fallback.stream"
  readonly field: string
  readonly expected: string
  readonly value: unknown
}> {
  override get message(): string {
    return `${this.combinator}: ${this.field} must be ${this.expected}, got ${Formatter.format(this.value)}`
  }
}
