import { Data, Formatter } from "effect"

/** @internal */
export class HealthConfigError extends Data.TaggedError("HealthConfigError")<{
  readonly field: string
  readonly value: unknown
  readonly expected: string
}> {
  override get message(): string {
    return `Health: ${this.field} must be ${this.expected}, got ${Formatter.format(this.value)}`
  }
}
