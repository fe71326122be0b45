import { Formatter } from "effect"

/**
 * Failures as this library reads them: by `_tag` (the options `on` and `exclude`), and as one short line for logs,
 * span attributes and error messages. Every function here is total: it never throws, whatever it is given.
 */

/** Does this value carry a `_tag` field (of any type)? @internal */
export const hasTag = (u: unknown): u is { readonly _tag: unknown } =>
  typeof u === "object" && u !== null && "_tag" in u

/** Is `tags` a non-empty array of strings, the shape every `on` / `exclude` list must have? @internal */
export const isTagList = (tags: unknown): tags is ReadonlyArray<string> =>
  Array.isArray(tags) && tags.length > 0 && tags.every((tag) => typeof tag === "string")

/**
 * The predicate "this failure's `_tag` is one of `tags`". One tag is compared directly; several go through a `Set`.
 *
 * @internal
 */
export const tagMatcher = (tags: ReadonlyArray<string>): ((error: unknown) => boolean) => {
  if (tags.length === 1) {
    const tag = tags[0]
    return (error) => hasTag(error) && error._tag === tag
  }
  const set = new Set<unknown>(tags)
  return (error) => hasTag(error) && set.has(error._tag)
}

/** The longest description a log line or an error message repeats from a value it did not make. @internal */
export const MAX_DESCRIPTION = 500

/**
 * Cuts a text from the outside to `max` characters, marking the cut with an ellipsis and the length it had.
 *
 * @internal
 */
export const truncate = (text: string, max: number = MAX_DESCRIPTION): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`

const fieldsOf = (error: object): string => {
  const fields: Record<string, unknown> = {}
  let any = false
  for (const key of Object.keys(error)) {
    if (key === "_tag") continue
    fields[key] = (error as Record<string, unknown>)[key]
    any = true
  }
  return any ? Formatter.format(fields) : ""
}

/**
 * The name a failure goes by: its `_tag`, else an `Error`'s `name`; `undefined` for anything else. Never throws.
 *
 * @internal
 */
export const failureName = (failure: unknown): string | undefined => {
  try {
    if (typeof failure !== "object" || failure === null) return undefined
    const tag = (failure as { readonly _tag?: unknown })._tag
    if (typeof tag === "string") return tag
    return failure instanceof Error ? failure.name : undefined
  } catch {
    return undefined
  }
}

/**
 * What a failure says beyond its name: its `message`, else (for a tagged error without one) its own fields,
 * formatted, else the value formatted by effect's `Formatter`; at most `MAX_DESCRIPTION` characters. Never throws.
 *
 * @internal
 */
export const failureDetail = (failure: unknown): string => {
  try {
    if (typeof failure === "object" && failure !== null) {
      const message = (failure as { readonly message?: unknown }).message
      if (typeof message === "string" && message.length > 0) return truncate(message)
      if (typeof (failure as { readonly _tag?: unknown })._tag === "string") return truncate(fieldsOf(failure))
    }
    return truncate(Formatter.format(failure))
  } catch {
    return "a failure that cannot be described"
  }
}

const describeUnsafe = (failure: unknown, fields: boolean): string => {
  if (typeof failure === "object" && failure !== null) {
    const { _tag, message } = failure as { readonly _tag?: unknown; readonly message?: unknown }
    const name = typeof _tag === "string" ? _tag : failure instanceof Error ? failure.name : undefined
    if (name !== undefined) {
      if (typeof message === "string" && message.length > 0) return `${name}: ${message}`
      if (!fields) return name
      const formatted = fieldsOf(failure)
      return formatted === "" ? name : `${name} ${formatted}`
    }
  }
  return Formatter.format(failure)
}

/**
 * A short, never-throwing description of a failure: `"Tag: message"`, `"Name: message"` for an `Error`, the tag
 * alone for a tagged error without a message (followed by its fields, formatted, under `{ fields: true }`), else
 * the value formatted by effect's `Formatter`; at most `MAX_DESCRIPTION` characters (a longer one is cut with an
 * ellipsis).
 *
 * @internal
 */
export const describeFailure = (failure: unknown, options?: { readonly fields?: boolean }): string => {
  try {
    return truncate(describeUnsafe(failure, options?.fields === true))
  } catch {
    return "a failure that cannot be described"
  }
}
