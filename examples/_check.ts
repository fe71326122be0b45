// Shared by the examples: each one checks the outcomes it shows and exits 1 when one differs, so `npm test`
// (which runs every example) catches a behaviour change. Files starting with "_" are not run as examples.
import { Console, Effect } from "effect"

export interface Checker {
  /** Prints the outcome and remembers it when it differs from the expected one (compared as JSON). */
  readonly check: (label: string, actual: unknown, expected: unknown) => Effect.Effect<void>
  /** Exits with 1 and lists the mismatches, if any; otherwise prints that all went as expected. */
  readonly finish: (example: string) => void
}

export const makeChecker = (): Checker => {
  const mismatches: Array<string> = []
  return {
    check: (label, actual, expected) =>
      Effect.suspend(() => {
        const same = JSON.stringify(actual) === JSON.stringify(expected)
        if (!same) mismatches.push(`${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
        return Console.log(`${same ? "ok  " : "FAIL"} ${label}: ${JSON.stringify(actual)}`)
      }),
    finish: (example) => {
      if (mismatches.length > 0) {
        console.error(`\n${mismatches.length} mismatch(es):\n${mismatches.join("\n")}`)
        process.exit(1)
      }
      console.log(`\n${example}: all outcomes as expected`)
    }
  }
}

/** Runs an example's program when the file is run directly: exit 0 when it succeeds, 1 (with the error) otherwise. */
export const runExample = (program: Effect.Effect<unknown, unknown>): void => {
  Effect.runPromise(program).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
