// Peer breakers on the same call: cockatiel 4 and opossum 10 in the promise world (each call awaited in one async
// loop, compared with a bare `await f()`), and the heap each peer keeps per circuit. Effect 4.1's built-in breaker
// runs in the Effect world, next to ours, in core.ts. The peers call `f` on every call: core.ts compares them with our
// fast path (a finished step) and, like with like, with ours around a step that runs (`Effect.sync(f)`), each measured
// against its own world's unprotected step.
import { circuitBreaker, ConsecutiveBreaker, fallback, handleAll, wrap } from "cockatiel"
import { Effect, Exit, Layer, Scope } from "effect"
import { CircuitBreaker as EffectBreaker } from "effect/persistence"
import CircuitBreaker from "opossum"
import { type MemoryProbe, promiseLoop, type Suite } from "./harness.ts"

export const PROMISE = "promise world: one awaited call per step"

export const names = {
  bare: "await f() (baseline)",
  cockatielClosed: "cockatiel 4, Closed",
  cockatielOpen: "cockatiel 4, Open -> fallback",
  cockatielCaught: "cockatiel 4, Open, rejection caught",
  opossumClosed: "opossum 10, Closed",
  opossumOpen: "opossum 10, Open -> fallback"
} as const

const one = async () => 1
const zero = async () => 0

const expect = async (label: string, actual: PromiseLike<unknown>, expected: unknown): Promise<void> => {
  const value = await actual
  if (value !== expected) throw new Error(`${label}: expected ${String(expected)}, got ${String(value)}`)
}

const cockatiel = () => circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) })

export const suite = async (): Promise<Suite> => {
  const cockatielClosed = cockatiel()
  const cockatielOpen = cockatiel()
  // Forced open until disposed, like `breaker.open(id)`. The Open rows answer 1 through cockatiel's own fallback
  // policy, and through a plain catch of the BrokenCircuitError (the fallback policy costs extra).
  const isolation = cockatielOpen.isolate()
  const cockatielFallback = wrap(fallback(handleAll, 1), cockatielOpen)

  const opossumClosed = new CircuitBreaker(one, {})
  const opossumOpen = new CircuitBreaker(one, {})
  opossumOpen.fallback(() => 1)
  opossumOpen.open()

  // Only a rejection can turn the primary's 0 into the fallback's 1.
  await expect("cockatiel open", cockatielFallback.execute(zero), 1)
  const opossumCheck = new CircuitBreaker(zero, {}).fallback(() => 1)
  opossumCheck.open()
  await expect("opossum open", opossumCheck.fire(), 1)
  opossumCheck.shutdown()

  return {
    name: PROMISE,
    description: "`for (…) await call()` in one async function; cockatiel `execute(f)`, opossum `fire()` (defaults).",
    unit: "call",
    baseline: names.bare,
    cases: [
      promiseLoop(names.bare, one),
      promiseLoop(names.cockatielClosed, () => cockatielClosed.execute(one)),
      promiseLoop(names.cockatielOpen, () => cockatielFallback.execute(one)),
      promiseLoop(names.cockatielCaught, () => cockatielOpen.execute(one).then(undefined, () => 1)),
      promiseLoop(names.opossumClosed, () => opossumClosed.fire()),
      promiseLoop(names.opossumOpen, () => opossumOpen.fire())
    ],
    close: () => {
      isolation.dispose()
      opossumClosed.shutdown()
      opossumOpen.shutdown()
    }
  }
}

const collection =
  <A>(make: () => A, dispose: (a: A) => void = () => {}) =>
  async (count: number) => {
    const held: Array<A> = []
    return {
      fill: async () => {
        for (let i = 0; i < count; i++) held.push(make())
      },
      release: async () => {
        for (const a of held) dispose(a)
        held.length = 0
      }
    }
  }

const effectBreakerProbe: MemoryProbe = {
  name: "effect/persistence CircuitBreaker (memory store), keys",
  count: 10_000,
  prepare: async (count) => {
    const scope = Effect.runSync(Scope.make())
    const layer = EffectBreaker.layer({ tripPolicy: EffectBreaker.consecutive(5), openDuration: "60 seconds" }).pipe(
      Layer.provide(EffectBreaker.layerStoreMemory())
    )
    const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
    const breaker = EffectBreaker.CircuitBreaker
    const fill = Effect.gen(function* () {
      const b = yield* breaker
      for (let i = 0; i < count; i++) yield* Effect.succeed(1).pipe(b.execute({ key: `circuit-${i}` }))
    }).pipe(Effect.provideContext(context))
    return {
      fill: () => Effect.runPromise(fill),
      release: () => Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

export const memory: ReadonlyArray<MemoryProbe> = [
  effectBreakerProbe,
  { name: "cockatiel 4 circuitBreaker policies", count: 10_000, prepare: collection(cockatiel) },
  {
    name: "opossum 10 CircuitBreaker instances",
    count: 10_000,
    prepare: collection(
      () => new CircuitBreaker(one, {}),
      (b) => b.shutdown()
    )
  }
]
