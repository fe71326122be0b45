// python-cqrs's chain of responsibility with a fallback (examples/cor_request_fallback.py) on the mediator: a
// ProcessPayment request goes through a chain of payment providers, each answering the methods it knows and passing
// the others on. The chain is the primary of a fallback binding: a method no provider handles (ChainExhausted) or a
// provider that is down (ProviderDown) ends in the manual-review fallback. python-cqrs needs a wrapper handler that
// raises when the chain returns None; here the chain fails with ChainExhausted, a typed failure the binding selects.
// Run with `node examples/cqrs/cor-fallback.ts`; exits 1 when the outcome differs.
import { Console, Data, Effect, Schema } from "effect"
import { Mediator } from "effect-fallback"

class PaymentResult extends Schema.Class<PaymentResult>("PaymentResult")({
  paymentId: Schema.String,
  handledBy: Schema.String
}) {}

class ProcessPayment extends Mediator.Request<ProcessPayment>()(
  "ProcessPayment",
  {
    paymentId: Schema.String,
    method: Schema.String
  },
  { response: PaymentResult }
) {}

class ProviderDown extends Data.TaggedError("ProviderDown")<{ readonly provider: string }> {}

const visited: Array<string> = []
const answer = (request: ProcessPayment, handledBy: string) =>
  Effect.succeed(new PaymentResult({ paymentId: request.paymentId, handledBy }))

const card = (request: ProcessPayment) =>
  Effect.sync(() => visited.push(`card:${request.paymentId}`)).pipe(
    Effect.andThen(request.method === "card" ? answer(request, "card") : Mediator.next)
  )
const paypal = (request: ProcessPayment) =>
  Effect.sync(() => visited.push(`paypal:${request.paymentId}`)).pipe(
    Effect.andThen(request.method === "paypal" ? answer(request, "paypal") : Mediator.next)
  )
const bank = (request: ProcessPayment) =>
  Effect.sync(() => visited.push(`bank:${request.paymentId}`)).pipe(
    Effect.andThen(request.method === "bank" ? Effect.fail(new ProviderDown({ provider: "bank" })) : Mediator.next)
  )

const MediatorLive = Mediator.layer({
  requests: [
    Mediator.bind(ProcessPayment, {
      primary: Mediator.chain(ProcessPayment, card, paypal, bank),
      fallback: (request, trigger) =>
        Console.log(`  ${request.paymentId}: manual review after ${trigger._tag}`).pipe(
          Effect.andThen(answer(request, `manual review (${trigger._tag})`))
        ),
      on: ["ChainExhausted", "ProviderDown"]
    })
  ]
})

const program = Effect.gen(function* () {
  const results: Array<string> = []
  for (const [paymentId, method] of [
    ["p1", "card"],
    ["p2", "paypal"],
    ["p3", "bank"],
    ["p4", "cash"]
  ] as const) {
    const result = yield* Mediator.send(new ProcessPayment({ paymentId, method }))
    yield* Console.log(`${paymentId} (${method}) handled by ${result.handledBy}`)
    results.push(`${paymentId} ${result.handledBy}`)
  }
  return { results, visited }
}).pipe(Effect.provide(MediatorLive))

const expected = {
  results: ["p1 card", "p2 paypal", "p3 manual review (ProviderDown)", "p4 manual review (ChainExhausted)"],
  visited: ["card:p1", "card:p2", "paypal:p2", "card:p3", "paypal:p3", "bank:p3", "card:p4", "paypal:p4", "bank:p4"]
}

Effect.runPromise(program).then(
  (actual) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      console.error(`unexpected:\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`)
      process.exit(1)
    }
    console.log("ok: each provider answered its method, and what no provider handled went to manual review")
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
