import { Duration, Effect, Metric, Tracer } from "effect"
import type * as Context from "effect/Context"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import { NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import type * as CircuitBreaker from "../CircuitBreaker.ts"
import type * as FallbackChain from "../FallbackChain.ts"
import { decodeDurationInput } from "./durationInput.ts"
import { isTagList, tagMatcher } from "./failure.ts"
import { ConcurrencyLimitExceeded, FallbackChainConfigError, ProviderTimeout } from "./fallbackChainErrors.ts"
import { hedged } from "./fallbackChainHedged.ts"
import { LastKnownGoodMemory } from "./fallbackChainMemory.ts"
import { type Result, sequential } from "./fallbackChainRun.ts"

/** @internal */
export const TypeId = "~effect-fallback/FallbackChain" as const

// ----------------------------------------------------------------------------
// metrics
// ----------------------------------------------------------------------------

const activationsOptions = {
  description: "Answers given by a provider other than the primary",
  incremental: true
} as const

const latencyOptions = {
  description: "Latency of the provider that answered, in seconds",
  // 1 ms .. ~16 s: fast caches and slow remote services both land in a meaningful bucket
  boundaries: Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })
} as const

const exhaustedOptions = {
  description: "Calls for which every provider of the chain failed",
  incremental: true
} as const

const failuresOptions = {
  description: "Provider failures, timeouts, rejections and budget skips",
  incremental: true
} as const

/** @internal */
export const activationsTotal = Metric.counter("fallback_activations_total", activationsOptions)

/** @internal */
export const latencySeconds = Metric.histogram("fallback_latency_seconds", latencyOptions)

/** @internal */
export const exhaustedTotal = Metric.counter("fallback_exhausted_total", exhaustedOptions)

/** @internal */
export const providerFailuresTotal = Metric.counter("fallback_provider_failures_total", failuresOptions)

// Each chain and provider gets its own metric objects with the attributes built in: the same series as
// `Metric.withAttributes(activationsTotal, ...)`, but `withAttributes` rebuilds the context and re-serialises the
// series key on every update (about a microsecond each), which a healthy call should not pay.
const providerMetrics = (chain: string, source: string) => ({
  latency: Metric.histogram("fallback_latency_seconds", { ...latencyOptions, attributes: { chain, source } }),
  activations: Metric.counter("fallback_activations_total", { ...activationsOptions, attributes: { chain, source } }),
  failureCounters: {
    failed: failuresFor(chain, source, "failed"),
    timedOut: failuresFor(chain, source, "timedOut"),
    rejected: failuresFor(chain, source, "rejected"),
    skipped: failuresFor(chain, source, "skipped")
  },
  logAnnotations: { "fallback.chain": chain, "fallback.source": source },
  failureAnnotations: {
    failed: { "fallback.chain": chain, "fallback.source": source, "fallback.reason": "failed" },
    timedOut: { "fallback.chain": chain, "fallback.source": source, "fallback.reason": "timedOut" },
    rejected: { "fallback.chain": chain, "fallback.source": source, "fallback.reason": "rejected" },
    skipped: { "fallback.chain": chain, "fallback.source": source, "fallback.reason": "skipped" }
  }
})

const failuresFor = (chain: string, source: string, reason: FallbackChain.FailureReason) =>
  Metric.counter("fallback_provider_failures_total", { ...failuresOptions, attributes: { chain, source, reason } })

const exhaustedFor = (chain: string) =>
  Metric.counter("fallback_exhausted_total", { ...exhaustedOptions, attributes: { chain } })

// ----------------------------------------------------------------------------
// providers
// ----------------------------------------------------------------------------

/**
 * Counts the calls a provider is running. The count belongs to the provider as added, so every chain derived from
 * the one it was added to shares it: the limit protects the dependency, whichever chain calls it.
 *
 * A counter rather than an Effect `Semaphore`: a call over the limit is rejected at once and never waits, so the
 * wait queue a semaphore maintains would never be used, and a check-and-increment in one synchronous step is all the
 * admission needs (fibers of one runtime never run it concurrently). The release is in `ensuring` under
 * `uninterruptibleMask`, so an interrupted or failing call (or a throwing `on`) never keeps its permit.
 *
 * @internal
 */
export class Limiter {
  readonly limit: number
  inFlight = 0
  readonly rejection: Effect.Effect<never, ConcurrencyLimitExceeded>
  readonly acquire: Effect.Effect<boolean> = Effect.sync(() => {
    if (this.inFlight >= this.limit) return false
    this.inFlight++
    return true
  })
  readonly release: Effect.Effect<void> = Effect.sync(() => {
    this.inFlight--
  })

  constructor(chain: string, source: string, limit: number) {
    this.limit = limit
    this.rejection = Effect.suspend(() => Effect.fail(new ConcurrencyLimitExceeded({ chain, source, limit })))
  }

  guard<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConcurrencyLimitExceeded, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(this.acquire, (admitted): Effect.Effect<A, E | ConcurrencyLimitExceeded, R> =>
        admitted ? Effect.ensuring(restore(effect), this.release) : this.rejection
      )
    )
  }
}

/**
 * One provider, compiled once when it is added: everything the engine needs per call is precomputed here.
 *
 * @internal
 */
export interface ProviderDef extends FallbackChain.Provider {
  readonly run: (input: unknown) => Effect.Effect<unknown, unknown, unknown>
  readonly memory: LastKnownGoodMemory | undefined
  readonly isTrigger: (error: unknown) => boolean
  readonly defects: boolean
  readonly breaker:
    { readonly key: Context.Key<unknown, CircuitBreaker.CircuitBreaker>; readonly circuit: string } | undefined
  readonly timeoutOptions:
    { readonly duration: Duration.Duration; readonly orElse: () => Effect.Effect<never, ProviderTimeout> } | undefined
  readonly limiter: Limiter | undefined
  readonly latency: Metric.Histogram<number>
  readonly activations: Metric.Counter<number>
  readonly failureCounters: Readonly<Record<FallbackChain.FailureReason, Metric.Counter<number>>>
  readonly logAnnotations: Readonly<Record<string, string>>
  readonly failureAnnotations: Readonly<Record<FallbackChain.FailureReason, Readonly<Record<string, string>>>>
}

// ----------------------------------------------------------------------------
// the chain value
// ----------------------------------------------------------------------------

/** @internal */
export interface Settings {
  readonly budget: Duration.Duration | undefined
  readonly budgetNanos: number
  readonly hedge: Duration.Duration | undefined
  readonly hedgeNanos: number
}

/** @internal */
export interface FallbackChainImpl extends FallbackChain.FallbackChain<unknown, unknown, unknown, unknown> {
  readonly providers: ReadonlyArray<ProviderDef>
  readonly memories: ReadonlyArray<LastKnownGoodMemory>
  readonly settings: Settings
  readonly spanName: string
  readonly spanOptions: { readonly attributes: Readonly<Record<string, unknown>> }
  readonly exhausted: Metric.Counter<number>
  readonly logAnnotations: Readonly<Record<string, string>>
}

const variance = {
  _Input: (_: unknown) => {},
  _A: (_: never) => _,
  _E: (_: never) => _,
  _R: (_: never) => _
}

const ChainProto = {
  [TypeId]: variance,
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: FallbackChainImpl) {
    return {
      _id: "FallbackChain",
      name: this.name,
      providers: this.providers.map((provider) => provider.name),
      budget: this.settings.budget === undefined ? undefined : Duration.format(this.settings.budget),
      hedge: this.settings.hedge === undefined ? undefined : Duration.format(this.settings.hedge)
    }
  },
  toString(this: FallbackChainImpl) {
    return `FallbackChain(${this.name}: ${this.providers.map((provider) => provider.name).join(" -> ")})`
  },
  [NodeInspectSymbol](this: FallbackChainImpl) {
    return this.toJSON()
  }
}

const makeChain = (
  name: string,
  options: FallbackChain.ExecuteOptions,
  settings: Settings,
  providers: ReadonlyArray<ProviderDef>,
  memories: ReadonlyArray<LastKnownGoodMemory>
): FallbackChainImpl => {
  const chain = Object.create(ChainProto)
  chain.name = name
  chain.options = options
  chain.settings = settings
  chain.providers = providers
  chain.memories = memories
  chain.spanName = `FallbackChain.${name}`
  chain.spanOptions = { attributes: { "fallback.chain": name } }
  chain.exhausted = exhaustedFor(name)
  chain.logAnnotations = { "fallback.chain": name }
  return chain
}

/** @internal */
export const isFallbackChain = (u: unknown): u is FallbackChain.FallbackChain<never, unknown, unknown, unknown> =>
  typeof u === "object" && u !== null && TypeId in u

// ----------------------------------------------------------------------------
// validation
// ----------------------------------------------------------------------------

const invalid = (chain: string, field: string, value: unknown, expected: string): never => {
  throw new FallbackChainConfigError({ chain, field, value, expected })
}

const decodeDuration = (chain: string, field: string, input: Duration.Input, allowZero: boolean): Duration.Duration => {
  const duration = decodeDurationInput(input)
  if (duration === undefined) return invalid(chain, field, input, 'a duration such as "500 millis" or 500')
  if (Duration.isNegative(duration) || (!allowZero && Duration.isZero(duration))) {
    return invalid(chain, field, input, allowZero ? "a duration >= 0" : "a duration > 0")
  }
  return duration
}

const checkPositiveInteger = (chain: string, field: string, value: number): number =>
  Number.isInteger(value) && value >= 1 ? value : invalid(chain, field, value, "an integer >= 1")

const checkName = (chain: FallbackChainImpl, name: string): string => {
  if (typeof name !== "string" || name.length === 0) return invalid(chain.name, "a provider name", name, "non-empty")
  if (chain.providers.some((provider) => provider.name === name)) {
    return invalid(chain.name, "a provider name", name, "unique within the chain")
  }
  return name
}

/** @internal */
export const resolveSettings = (chain: string, options: FallbackChain.ExecuteOptions): Settings => {
  const budget = options.budget === undefined ? undefined : decodeDuration(chain, "budget", options.budget, false)
  const hedge = options.hedge === undefined ? undefined : decodeDuration(chain, "hedge", options.hedge, true)
  return {
    budget,
    budgetNanos: budget === undefined ? Infinity : Duration.toMillis(budget) * 1e6,
    hedge,
    hedgeNanos: hedge === undefined ? Infinity : Duration.toMillis(hedge) * 1e6
  }
}

// ----------------------------------------------------------------------------
// constructors
// ----------------------------------------------------------------------------

/** @internal */
export const make = (name: string, options?: FallbackChain.ExecuteOptions): FallbackChainImpl => {
  if (typeof name !== "string" || name.length === 0) invalid(String(name), "the chain name", name, "non-empty")
  const resolved = options ?? {}
  return makeChain(name, resolved, resolveSettings(name, resolved), [], [])
}

const compileOn = (on: unknown): ((error: unknown) => boolean) => {
  if (on === undefined) return () => true
  if (typeof on === "function") return on as (error: unknown) => boolean
  return tagMatcher(on as ReadonlyArray<string>)
}

interface RawProviderOptions {
  readonly on?: unknown
  readonly defects?: boolean | undefined
  readonly breaker?: Context.Key<unknown, CircuitBreaker.CircuitBreaker> | undefined
  readonly id?: string | undefined
  readonly timeout?: Duration.Input | undefined
  readonly concurrency?: number | undefined
}

const addProvider = (
  self: FallbackChainImpl,
  name: string,
  run: (input: unknown) => Effect.Effect<unknown, unknown, unknown>,
  options?: RawProviderOptions
): FallbackChainImpl => {
  checkName(self, name)
  if (typeof run !== "function") invalid(self.name, `the provider of "${name}"`, run, "a function of the input")
  const on = options?.on
  if (on !== undefined && typeof on !== "function" && !isTagList(on)) {
    invalid(self.name, `on of "${name}"`, on, "a non-empty array of _tag strings or a predicate")
  }
  if (options?.breaker !== undefined && (typeof options.id !== "string" || options.id.length === 0)) {
    invalid(self.name, `id of "${name}"`, options.id, "a non-empty circuit id when a breaker is given")
  }
  const timeout =
    options?.timeout === undefined
      ? undefined
      : decodeDuration(self.name, `timeout of "${name}"`, options.timeout, false)
  const concurrency =
    options?.concurrency === undefined
      ? undefined
      : checkPositiveInteger(self.name, `concurrency of "${name}"`, options.concurrency)
  const chainName = self.name
  const provider: ProviderDef = {
    name,
    index: self.providers.length,
    kind: "effect",
    timeout,
    concurrency,
    circuit: options?.breaker === undefined ? undefined : options.id,
    run,
    memory: undefined,
    isTrigger: compileOn(on),
    defects: options?.defects === true,
    breaker: options?.breaker === undefined ? undefined : { key: options.breaker, circuit: options.id as string },
    timeoutOptions:
      timeout === undefined
        ? undefined
        : {
            duration: timeout,
            orElse: () =>
              Effect.fail(new ProviderTimeout({ chain: chainName, source: name, timeout, cause: "timeout" }))
          },
    limiter: concurrency === undefined ? undefined : new Limiter(chainName, name, concurrency),
    ...providerMetrics(chainName, name)
  }
  return makeChain(self.name, self.options, self.settings, [...self.providers, provider], self.memories)
}

/** @internal */
export const add: {
  (
    name: string,
    provider: (input: unknown) => Effect.Effect<unknown, unknown, unknown>,
    options?: RawProviderOptions
  ): (self: FallbackChainImpl) => FallbackChainImpl
  (
    self: FallbackChainImpl,
    name: string,
    provider: (input: unknown) => Effect.Effect<unknown, unknown, unknown>,
    options?: RawProviderOptions
  ): FallbackChainImpl
} = dual((args) => isFallbackChain(args[0]), addProvider)

const neverRuns = () => Effect.die("a last-known-good provider is answered by the engine, never run")

const addLastKnownGood = (
  self: FallbackChainImpl,
  options: FallbackChain.LastKnownGoodOptions<unknown>
): FallbackChainImpl => {
  const name = checkName(self, options.name ?? "last_known_good")
  if (self.providers.length === 0) {
    invalid(self.name, `the position of "${name}"`, 0, "after the primary provider, whose answers it remembers")
  }
  const maxStaleness = decodeDuration(self.name, "maxStaleness", options.maxStaleness, true)
  const capacity = checkPositiveInteger(self.name, "capacity", options.capacity)
  const key = options.key ?? String
  const memory = new LastKnownGoodMemory(name, key, Duration.toMillis(maxStaleness) * 1e6, capacity)
  const provider: ProviderDef = {
    name,
    index: self.providers.length,
    kind: "lastKnownGood",
    timeout: undefined,
    concurrency: undefined,
    circuit: undefined,
    run: neverRuns,
    memory,
    isTrigger: () => true,
    defects: false,
    breaker: undefined,
    timeoutOptions: undefined,
    limiter: undefined,
    ...providerMetrics(self.name, name)
  }
  return makeChain(self.name, self.options, self.settings, [...self.providers, provider], [...self.memories, memory])
}

/** @internal */
export const lastKnownGood: {
  (options: FallbackChain.LastKnownGoodOptions<unknown>): (self: FallbackChainImpl) => FallbackChainImpl
  (self: FallbackChainImpl, options: FallbackChain.LastKnownGoodOptions<unknown>): FallbackChainImpl
} = dual(2, addLastKnownGood)

// ----------------------------------------------------------------------------
// execution
// ----------------------------------------------------------------------------

const start = (
  chain: FallbackChainImpl,
  input: unknown,
  settings: Settings,
  fiber: Fiber.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined
): Effect.Effect<Result<unknown>, unknown, unknown> => {
  if (settings.hedge === undefined) return sequential(chain, input, settings, fiber, span)
  const racing = hedged(chain, input, settings, fiber, span)
  return span === undefined ? racing : Effect.provideService(racing, Tracer.ParentSpan, span)
}

// The span is the costliest part of a healthy call (about 1.5 us for Effect to create, parent and end it), so a
// disabled tracer (`References.TracerEnabled`) skips it altogether rather than creating a no-op span.
const run = (
  chain: FallbackChainImpl,
  input: unknown,
  settings: Settings
): Effect.Effect<Result<unknown>, unknown, unknown> =>
  Effect.withFiber((fiber) =>
    fiber.cache.tracerEnabled
      ? Effect.useSpan(chain.spanName, chain.spanOptions, (span) => start(chain, input, settings, fiber, span))
      : start(chain, input, settings, fiber, undefined)
  )

/** @internal */
export const execute: {
  (
    input: unknown,
    options?: FallbackChain.ExecuteOptions
  ): (self: FallbackChainImpl) => Effect.Effect<Result<unknown>, unknown, unknown>
  (
    self: FallbackChainImpl,
    input: unknown,
    options?: FallbackChain.ExecuteOptions
  ): Effect.Effect<Result<unknown>, unknown, unknown>
} = dual(
  (args) => isFallbackChain(args[0]),
  (self: FallbackChainImpl, input: unknown, options?: FallbackChain.ExecuteOptions) => {
    let settings = self.settings
    if (options !== undefined) {
      try {
        settings = resolveSettings(self.name, { ...self.options, ...options })
      } catch (error) {
        return Effect.die(error)
      }
    }
    return run(self, input, settings)
  }
)
