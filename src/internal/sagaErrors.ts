import { Data, Formatter } from "effect"

/** @internal */
export class InvalidSagaOptions extends Data.TaggedError("InvalidSagaOptions")<{
  readonly combinator: "Saga.make" | "Saga.step" | "Saga.withFallback" | "Saga.run" | "Saga.status"
  readonly field: string
  readonly expected: string
  readonly value: unknown
}> {
  override get message(): string {
    return `${this.combinator}: ${this.field} must be ${this.expected}, got ${Formatter.format(this.value)}`
  }
}
