/**
 * The state machine of one circuit, free of Effect so that every decision is synchronous and atomic.
 *
 * Time is always passed in (`now`, epoch millis of the caller's `Clock`): time-based transitions (Open -> HalfOpen,
 * a hung HalfOpen back to Open) are applied lazily whenever the circuit is touched, so they need no background fiber
 * and follow `TestClock` exactly.
 */
import type { Mode, State, TransitionReason } from "../CircuitBreaker.ts"
import type { TripRule } from "./circuitTripRule.ts"
import { makeWindow, type Window, type WindowSpec } from "./window.ts"

/** @internal */
export interface Policy {
  readonly domain: string
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly halfOpenMaxCalls: number
  /** Millis of the n-th consecutive opening (n >= 1). */
  readonly openingMillis: (openings: number) => number
  readonly maxResetMillis: number
  /** `undefined`: the last opening's duration. */
  readonly backoffResetMillis: number | undefined
  readonly halfOpenTimeout: { readonly millis: number; readonly onTimeout: "reopen" | "interrupt" } | undefined
  readonly failureRate: { readonly threshold: number; readonly minimumCalls: number } | undefined
  readonly slowCall:
    { readonly millis: number; readonly rateThreshold: number; readonly minimumCalls: number } | undefined
  readonly window: WindowSpec | undefined
  /** What opens a Closed circuit, asked in order after each counted outcome. */
  readonly tripRules: ReadonlyArray<TripRule>
  readonly isExcluded: (error: unknown) => boolean
  readonly isFailureValue: ((value: unknown) => boolean) | undefined
  readonly retryAfterMillis: ((error: unknown) => number | undefined) | undefined
  readonly mode: Mode
  /** Whether a Closed circuit needs the clock (time windows, slow calls). */
  readonly closedNeedsClock: boolean
}

/** A state change waiting to be published. @internal */
export interface PendingTransition {
  readonly id: string
  readonly from: State
  readonly to: State
  readonly at: number
  readonly reason: TransitionReason
}

/** A user callback that threw while the circuit used it: reported by the owner with the circuit. @internal */
export interface CallbackFailure {
  readonly id: string
  readonly callback: "exclude" | "isFailure" | "retryAfter"
  readonly thrown: unknown
}

/** What waits in the outbox until the operation that caused it is done. @internal */
export type Pending = PendingTransition | CallbackFailure

/** What `admit` decided. @internal */
export const Admission = {
  /** Run and record the outcome under the current generation. */
  Admitted: 0,
  /** Run as a HalfOpen trial: holds a permit until its outcome is recorded or it is released. */
  Trial: 1,
  Rejected: 2,
  /** Run without recording anything (`disabled`, or a would-be rejection in `metricsOnly`). */
  Unrecorded: 3
} as const

/** @internal */
export type Admission = (typeof Admission)[keyof typeof Admission]

/** How a finished call is classified. @internal */
export const Verdict = { Success: 0, Failure: 1, Ignored: 2 } as const

/** @internal */
export type Verdict = (typeof Verdict)[keyof typeof Verdict]

/**
 * What a circuit needs only once it has opened, run a trial or counted a rare outcome: allocated on first need, so
 * that a circuit that was only ever Closed (most of them, with a circuit per user) stays small.
 */
class Seldom {
  halfOpenSuccesses = 0
  halfOpenInFlight = 0
  halfOpenDeadline = Number.POSITIVE_INFINITY
  openedAt: number | undefined = undefined
  openUntil = 0
  openings = 0
  lastOpeningMillis = 0
  closedAt = Number.NEGATIVE_INFINITY
  ignored = 0
  rejected = 0
  slow = 0
}

/** The values of a circuit without its `Seldom` part. Never written. */
const DEFAULTS: Readonly<Seldom> = Object.freeze(new Seldom())

/** @internal */
export class Circuit {
  readonly id: string
  readonly policy: Policy
  /** Where transitions (and callback failures) go; the owner drains it after each operation. */
  readonly outbox: Array<Pending>
  state: State = "Closed"
  mode: Mode
  /** Incremented on every transition: outcomes of calls admitted under another generation change nothing. */
  generation = 0
  forced = false
  consecutiveFailures = 0
  successes = 0
  failures = 0
  readonly window: Window | undefined
  /** The rarely used fields, behind the accessors below; `undefined` while they all hold their defaults. */
  private seldom: Seldom | undefined = undefined

  constructor(id: string, policy: Policy, outbox: Array<Pending>) {
    this.id = id
    this.policy = policy
    this.outbox = outbox
    this.mode = policy.mode
    this.window = policy.window ? makeWindow(policy.window) : undefined
  }

  private get rare(): Readonly<Seldom> {
    return this.seldom ?? DEFAULTS
  }

  /** The rarely used fields, for writing: allocated now if need be. */
  private more(): Seldom {
    return (this.seldom ??= new Seldom())
  }

  get halfOpenSuccesses(): number {
    return this.rare.halfOpenSuccesses
  }
  set halfOpenSuccesses(value: number) {
    if (this.seldom !== undefined || value !== 0) this.more().halfOpenSuccesses = value
  }
  get halfOpenInFlight(): number {
    return this.rare.halfOpenInFlight
  }
  set halfOpenInFlight(value: number) {
    if (this.seldom !== undefined || value !== 0) this.more().halfOpenInFlight = value
  }
  /** When the trials in flight must have decided (`halfOpenTimeout`). */
  get halfOpenDeadline(): number {
    return this.rare.halfOpenDeadline
  }
  set halfOpenDeadline(value: number) {
    if (this.seldom !== undefined || value !== Number.POSITIVE_INFINITY) this.more().halfOpenDeadline = value
  }
  get openedAt(): number | undefined {
    return this.rare.openedAt
  }
  set openedAt(value: number | undefined) {
    if (this.seldom !== undefined || value !== undefined) this.more().openedAt = value
  }
  get openUntil(): number {
    return this.rare.openUntil
  }
  set openUntil(value: number) {
    this.more().openUntil = value
  }
  get openings(): number {
    return this.rare.openings
  }
  set openings(value: number) {
    if (this.seldom !== undefined || value !== 0) this.more().openings = value
  }
  get lastOpeningMillis(): number {
    return this.rare.lastOpeningMillis
  }
  set lastOpeningMillis(value: number) {
    if (this.seldom !== undefined || value !== 0) this.more().lastOpeningMillis = value
  }
  get closedAt(): number {
    return this.rare.closedAt
  }
  set closedAt(value: number) {
    if (this.seldom !== undefined || value !== Number.NEGATIVE_INFINITY) this.more().closedAt = value
  }
  get ignored(): number {
    return this.rare.ignored
  }
  set ignored(value: number) {
    if (this.seldom !== undefined || value !== 0) this.more().ignored = value
  }
  get rejected(): number {
    return this.rare.rejected
  }
  set rejected(value: number) {
    if (this.seldom !== undefined || value !== 0) this.more().rejected = value
  }
  get slow(): number {
    return this.rare.slow
  }
  set slow(value: number) {
    if (this.seldom !== undefined || value !== 0) this.more().slow = value
  }

  /**
   * Runs a user callback of the policy: one that throws is reported in the outbox and `fallback` stands for its
   * answer, so that an outcome is always recorded and no permit is ever lost.
   */
  callback<A, R>(name: CallbackFailure["callback"], f: (a: A) => R, a: A, fallback: R): R {
    try {
      return f(a)
    } catch (thrown) {
      this.outbox.push({ id: this.id, callback: name, thrown })
      return fallback
    }
  }

  /** Whether a call needs `now` to be decided and recorded. */
  needsClock(): boolean {
    return this.state !== "Closed" || this.policy.closedNeedsClock
  }

  /** Applies the transitions that time alone causes. */
  refresh(now: number): void {
    if (this.state === "HalfOpen" && this.halfOpenInFlight > 0 && now >= this.halfOpenDeadline) {
      // The circuit went back to Open at the deadline, however late this is noticed: the opening starts there.
      this.toOpen(this.halfOpenDeadline, "halfOpenTimeout", undefined)
    }
    if (this.state === "Open" && !this.forced && now >= this.openUntil) this.toHalfOpen(now)
  }

  admit(now: number): Admission {
    if (this.mode === "disabled") return Admission.Unrecorded
    if (this.state !== "Closed") this.refresh(now)
    if (this.state === "Closed") return Admission.Admitted
    if (this.state === "HalfOpen" && this.halfOpenInFlight < this.policy.halfOpenMaxCalls) {
      if (this.halfOpenInFlight === 0 && this.policy.halfOpenTimeout !== undefined) {
        this.halfOpenDeadline = now + this.policy.halfOpenTimeout.millis
      }
      this.halfOpenInFlight++
      return Admission.Trial
    }
    this.rejected++
    return this.mode === "metricsOnly" ? Admission.Unrecorded : Admission.Rejected
  }

  /**
   * The Open fast path: applies what time changed, then `true` (the rejection counted) when the circuit refuses the
   * call outright, handing out nothing; `false` when the call needs a full `admit`.
   */
  refuses(now: number): boolean {
    this.refresh(now)
    if (this.state !== "Open" || this.mode !== "normal") return false
    this.rejected++
    return true
  }

  /** A trial the circuit admitted but a shared store refused: its permit goes back and it counts as rejected. */
  refuseTrial(generation: number): void {
    this.release(generation)
    this.rejected++
  }

  /** Millis before an Open circuit admits a trial call; 0 when HalfOpen. */
  retryAfterMillis(now: number): number {
    if (this.state !== "Open") return 0
    return this.forced ? Number.POSITIVE_INFINITY : Math.max(0, this.openUntil - now)
  }

  /**
   * Gives back the permit of a trial call that ended without an outcome (interrupted, or ignored). With `now`, a
   * HalfOpen timeout that passed unnoticed is applied first, so the late release cannot cancel it.
   */
  release(generation: number, now?: number): void {
    if (now !== undefined && this.state !== "Closed") this.refresh(now)
    if (generation === this.generation && this.state === "HalfOpen" && this.halfOpenInFlight > 0) {
      this.halfOpenInFlight--
      if (this.halfOpenInFlight === 0) this.halfOpenDeadline = Number.POSITIVE_INFINITY
    }
  }

  record(generation: number, trial: boolean, verdict: Verdict, slow: boolean, now: number, error: unknown): void {
    // The common case, small enough to be inlined into its callers: a plain success of the current Closed era.
    if (
      verdict === Verdict.Success &&
      !slow &&
      !trial &&
      generation === this.generation &&
      this.state === "Closed" &&
      this.window === undefined &&
      this.mode !== "disabled"
    ) {
      this.successes++
      this.consecutiveFailures = 0
      return
    }
    this.recordOutcome(generation, trial, verdict, slow, now, error)
  }

  private recordOutcome(
    generation: number,
    trial: boolean,
    verdict: Verdict,
    slow: boolean,
    now: number,
    error: unknown
  ): void {
    // Time may have moved the circuit on since the last touch: a trial that outlived the HalfOpen timeout is fenced.
    if (this.state !== "Closed") this.refresh(now)
    if (this.mode === "disabled") {
      // Nothing is recorded while disabled, but a trial admitted before the switch still gives its permit back.
      if (trial) this.release(generation)
      return
    }
    if (verdict === Verdict.Success) this.successes++
    else if (verdict === Verdict.Failure) this.failures++
    else this.ignored++
    if (slow && verdict !== Verdict.Ignored) this.slow++
    if (generation !== this.generation) return
    if (trial) return this.recordTrial(generation, verdict, slow, now, error)
    if (this.state !== "Closed" || verdict === Verdict.Ignored) return
    const window = this.window
    if (window !== undefined) window.record(verdict === Verdict.Failure, slow, now)
    if (verdict === Verdict.Success) {
      this.consecutiveFailures = 0
      // Only a rate can reach its threshold on a success.
      if (window === undefined) return
    } else {
      this.consecutiveFailures++
    }
    const rules = this.policy.tripRules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!
      if (rule.trips(this)) return this.toOpen(now, rule.reason, rule.hinted ? error : undefined)
    }
  }

  /** Rate of failures in the window, undefined until `minimumCalls` outcomes are in it. */
  failureRate(now: number): number | undefined {
    const window = this.window
    const policy = this.policy.failureRate
    if (window === undefined || policy === undefined) return undefined
    window.expire(now)
    return window.calls >= policy.minimumCalls ? window.failures / window.calls : undefined
  }

  slowCallRate(now: number): number | undefined {
    const window = this.window
    const policy = this.policy.slowCall
    if (window === undefined || policy === undefined) return undefined
    window.expire(now)
    return window.calls >= policy.minimumCalls ? window.slow / window.calls : undefined
  }

  forceOpen(now: number): void {
    // Whatever time changed before this moment happened first, whether or not anyone looked.
    if (this.state !== "Closed") this.refresh(now)
    this.forced = true
    if (this.state === "Open") {
      this.openUntil = Number.POSITIVE_INFINITY
      return
    }
    this.transition(now, "Open", "forcedOpen")
    this.openedAt = now
    this.openUntil = Number.POSITIVE_INFINITY
  }

  forceClose(now: number): void {
    if (this.state !== "Closed") this.refresh(now)
    this.forced = false
    if (this.state !== "Closed") this.toClosed(now, "manualClose")
    else this.clearCounts()
  }

  reset(now: number): void {
    if (this.state !== "Closed") this.refresh(now)
    const from = this.state
    this.forced = false
    this.openings = 0
    this.lastOpeningMillis = 0
    this.successes = 0
    this.failures = 0
    this.ignored = 0
    this.rejected = 0
    this.slow = 0
    if (from !== "Closed") this.toClosed(now, "reset")
    else {
      this.clearCounts()
      this.generation++
    }
    // Every rarely used field is back at its default.
    this.seldom = undefined
  }

  private recordTrial(generation: number, verdict: Verdict, slow: boolean, now: number, error: unknown): void {
    if (verdict === Verdict.Ignored) return this.release(generation)
    this.halfOpenInFlight--
    if (this.halfOpenInFlight === 0) this.halfOpenDeadline = Number.POSITIVE_INFINITY
    if (verdict === Verdict.Failure || (slow && this.policy.slowCall !== undefined)) {
      return this.toOpen(now, "trialFailed", error)
    }
    this.halfOpenSuccesses++
    if (this.halfOpenSuccesses >= this.policy.successThreshold) this.toClosed(now, "trialSucceeded")
  }

  /** The consecutive-openings count a trip at `now` reaches: a circuit that stayed Closed long enough starts over. */
  nextOpenings(now: number): number {
    if (this.state !== "Closed") return this.openings + 1
    const calmMillis = this.policy.backoffResetMillis ?? this.lastOpeningMillis
    return now - this.closedAt >= calmMillis ? 1 : this.openings + 1
  }

  /**
   * How long the `openings`-th opening lasts, lengthened by the retry-after hint of the failure that caused it. An
   * opening always ends by itself: a hint that would make it endless (no `maxResetTimeout`) is ignored.
   */
  openingMillisFor(openings: number, error: unknown): number {
    const policy = this.policy
    const opening = Math.min(policy.openingMillis(openings), policy.maxResetMillis)
    const hint =
      error !== undefined && policy.retryAfterMillis !== undefined
        ? this.callback("retryAfter", policy.retryAfterMillis, error, undefined)
        : undefined
    if (hint === undefined) return opening
    const hinted = Math.min(Math.max(opening, hint), policy.maxResetMillis)
    return Number.isFinite(hinted) ? hinted : opening
  }

  /**
   * Takes on a state decided by other processes (a distributed layer's shared store). The same state keeps its
   * counts; an Open state takes the shared opening's remaining time (`remainingMillis`, ignored when `forced`).
   */
  adopt(
    state: State,
    remainingMillis: number,
    openings: number,
    forced: boolean,
    reason: TransitionReason,
    now: number
  ): void {
    this.openings = openings
    this.forced = state === "Open" && forced
    if (state === "Open") {
      if (this.state !== "Open") {
        this.transition(now, "Open", reason)
        this.openedAt = now
        if (!forced) this.lastOpeningMillis = remainingMillis
      }
      this.openUntil = forced ? Number.POSITIVE_INFINITY : now + remainingMillis
    } else if (this.state !== state) {
      if (state === "Closed") return this.toClosed(now, reason)
      this.transition(now, "HalfOpen", reason)
      this.openedAt ??= now
    }
  }

  private toOpen(now: number, reason: TransitionReason, error: unknown): void {
    const openings = this.nextOpenings(now)
    const millis = this.openingMillisFor(openings, error)
    this.transition(now, "Open", reason)
    this.openings = openings
    this.openedAt = now
    this.openUntil = now + millis
    this.lastOpeningMillis = millis
  }

  private toHalfOpen(now: number): void {
    this.transition(now, "HalfOpen", "resetTimeout")
  }

  private toClosed(now: number, reason: TransitionReason): void {
    this.transition(now, "Closed", reason)
    this.openedAt = undefined
    this.closedAt = now
  }

  private transition(now: number, to: State, reason: TransitionReason): void {
    const from = this.state
    this.state = to
    this.generation++
    this.clearCounts()
    this.outbox.push({ id: this.id, from, to, at: now, reason })
  }

  private clearCounts(): void {
    this.consecutiveFailures = 0
    this.halfOpenSuccesses = 0
    this.halfOpenInFlight = 0
    this.halfOpenDeadline = Number.POSITIVE_INFINITY
    if (this.window !== undefined) this.window.clear()
  }
}
