// Type-level specification of FallbackChain's signatures: `expectTypeOf` pins what the compiler infers.
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { FallbackChain } from "effect-fallback"
import { expectTypeOf } from "vitest"

const voidChain = FallbackChain.make<void>("nothing").pipe(FallbackChain.add("constant", () => Effect.succeed(1)))
const userChain = FallbackChain.make<string>("users").pipe(FallbackChain.add("echo", (id) => Effect.succeed(id)))

describe("FallbackChain.execute", () => {
  it("data-first on a chain whose input is void runs the chain (it is not read as a data-last input)", () => {
    expectTypeOf(FallbackChain.execute(voidChain, undefined)).toEqualTypeOf<
      Effect.Effect<FallbackChain.FallbackResult<number>, FallbackChain.AllFallbacksExhausted>
    >()
  })

  it("data-last takes the input first and the chain through pipe", () => {
    expectTypeOf(userChain.pipe(FallbackChain.execute("u-1", { budget: "1 second" }))).toEqualTypeOf<
      Effect.Effect<FallbackChain.FallbackResult<string>, FallbackChain.AllFallbacksExhausted>
    >()
    expectTypeOf(voidChain.pipe(FallbackChain.execute(undefined))).toEqualTypeOf<
      Effect.Effect<FallbackChain.FallbackResult<number>, FallbackChain.AllFallbacksExhausted>
    >()
  })

  it("data-first with an input of the chain's type", () => {
    expectTypeOf(FallbackChain.execute(userChain, "u-1")).toEqualTypeOf<
      Effect.Effect<FallbackChain.FallbackResult<string>, FallbackChain.AllFallbacksExhausted>
    >()
  })
})
