import { Data, Formatter } from "effect"
import { StacklessTaggedError } from "./stacklessError.ts"

/** @internal */
export class BulkheadFull extends StacklessTaggedError("BulkheadFull")<{
  readonly bulkhead: string
  readonly maxConcurrent: number
  readonly maxQueue: number
}> {
  override get message(): string {
    return `bulkhead ${this.bulkhead} is full: ${this.maxConcurrent} calls running and ${this.maxQueue} waiting`
  }
}

/** @internal */
export const isBulkheadFull = (u: unknown): u is BulkheadFull => u instanceof BulkheadFull

/** @internal */
export class BulkheadConfigError extends Data.TaggedError("BulkheadConfigError")<{
  readonly bulkhead: string
  readonly field: string
  readonly value: unknown
  readonly expected: string
}> {
  override get message(): string {
    return `invalid bulkhead setting for ${this.bulkhead}: ${this.field} must be ${this.expected}, got ${Formatter.format(
      this.value
    )}`
  }
}
