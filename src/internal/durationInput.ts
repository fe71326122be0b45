import { Duration } from "effect"

const UNITS = new Set(["weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"])

const isNumber = (u: unknown): u is number => typeof u === "number" && !Number.isNaN(u)

/** A duration object with at least one unit, and nothing but units holding numbers. */
const isDurationObject = (input: object): boolean => {
  const keys = Object.keys(input)
  return (
    keys.length > 0 &&
    keys.every((key) => {
      const value = (input as Record<string, unknown>)[key]
      return UNITS.has(key) && (value === undefined || isNumber(value))
    })
  )
}

/**
 * Decodes a `Duration.Input` from untyped code: `undefined` for anything that is not one. Effect's
 * `Duration.fromInput` reads `NaN` (alone, in a `[seconds, nanos]` pair, or as a field) and `{}` as zero, and coerces
 * fields that are not numbers; a setting that meant something else must not silently become "no time at all".
 *
 * @internal
 */
export const decodeDurationInput = (input: unknown): Duration.Duration | undefined => {
  if (typeof input === "number" && Number.isNaN(input)) return undefined
  if (Array.isArray(input) && !input.every(isNumber)) return undefined
  if (
    typeof input === "object" &&
    input !== null &&
    !Array.isArray(input) &&
    !Duration.isDuration(input) &&
    !isDurationObject(input)
  ) {
    return undefined
  }
  const decoded = Duration.fromInput(input as Duration.Input)
  return decoded._tag === "Some" ? decoded.value : undefined
}
