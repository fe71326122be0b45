/**
 * What the dashboard knows about one domain: the state of every circuit (from `transitions` and from reading
 * `circuits`), the counts of the circuits with a tile at the last tick, and which circuits are shown (the bounded tile
 * set). Plain mutable data, changed only by the hub's fibers; no Effect here.
 */
import { Duration } from "effect"
import type { CircuitBreaker, State, Stats } from "../CircuitBreaker.ts"

/** Calls (successes, failures and ignored), failures, slow calls and rejections in one sampling interval. @internal */
export type Sample = readonly [calls: number, failures: number, slow: number, rejected: number]

/** What a tile shows of one circuit. @internal */
export interface CircuitView {
  readonly domain: string
  readonly id: string
  readonly state: State
  readonly mode: Stats["mode"]
  readonly forced: boolean
  /** Milliseconds before an Open circuit admits a trial call, when the view was read; `null` unless Open. */
  readonly retryAfterMillis: number | null
  readonly failureRate: number | null
  readonly slowCallRate: number | null
  readonly successes: number
  readonly failures: number
  readonly rejected: number
  readonly slow: number
  readonly consecutiveFailures: number
  readonly openings: number
}

/** The size of a domain and how many of its circuits have no tile. @internal */
export interface DomainSummary {
  readonly domain: string
  readonly total: number
  readonly states: Readonly<Record<State, number>>
  readonly hidden: number
}

/** @internal */
export interface Limits {
  readonly historySamples: number
  readonly maxClosedPerDomain: number
  readonly maxTilesPerDomain: number
}

/** @internal */
export const viewOf = (stats: Stats): CircuitView => ({
  domain: stats.domain,
  id: stats.id,
  state: stats.state,
  mode: stats.mode,
  forced: stats.forced,
  retryAfterMillis: stats.state === "Open" && stats.retryAfter !== undefined ? retryMillis(stats.retryAfter) : null,
  failureRate: stats.failureRate ?? null,
  slowCallRate: stats.slowCallRate ?? null,
  successes: stats.successes,
  failures: stats.failures,
  rejected: stats.rejected,
  slow: stats.slow,
  consecutiveFailures: stats.consecutiveFailures,
  openings: stats.openings
})

// A forced opening lasts until a manual close: its retryAfter is infinite, which JSON cannot carry (-1 means never).
const retryMillis = (retryAfter: Duration.Duration): number =>
  Duration.isFinite(retryAfter) ? Math.max(0, Math.ceil(Duration.toMillis(retryAfter))) : -1

const ZERO: Sample = [0, 0, 0, 0]

/** @internal */
export class DomainModel {
  /** Every known circuit and its state, in discovery order. */
  readonly states = new Map<string, State>()
  readonly counts: Record<State, number> = { Closed: 0, Open: 0, HalfOpen: 0 }
  /** Circuits not Closed, in the order they left Closed. */
  readonly notClosed = new Set<string>()
  /** Closed circuits that keep a tile (at most `maxClosedPerDomain`). */
  readonly shownClosed = new Set<string>()
  /** Circuits with a tile after the last tick, and what their tile shows (as sent). */
  readonly views = new Map<string, { readonly view: CircuitView; readonly json: string }>()
  /** The last `historySamples` samples of circuits with a tile. */
  readonly history = new Map<string, Array<Sample>>()
  /** Counts of each tile since its circuit was created or reset, at the last tick. */
  readonly totals = new Map<string, Sample>()
  /** Circuits first seen since the last tick. */
  readonly fresh = new Set<string>()
  /** Ticks since `circuits` was last read. */
  sinceRefresh = 0

  readonly breaker: CircuitBreaker
  readonly limits: Limits

  constructor(breaker: CircuitBreaker, limits: Limits) {
    this.breaker = breaker
    this.limits = limits
  }

  get domain(): string {
    return this.breaker.domain
  }

  setState(id: string, state: State): void {
    const previous = this.states.get(id)
    if (previous === state) return
    if (previous !== undefined) this.counts[previous]--
    else this.fresh.add(id)
    this.counts[state]++
    this.states.set(id, state)
    if (state === "Closed") {
      this.notClosed.delete(id)
      if (this.shownClosed.size < this.limits.maxClosedPerDomain) this.shownClosed.add(id)
    } else {
      this.shownClosed.delete(id)
      this.notClosed.add(id)
    }
  }

  /** The circuits that get a tile: every circuit not Closed first, then Closed ones, up to the limits. */
  tiles(): ReadonlyArray<string> {
    this.backfillClosed()
    const tiles: Array<string> = []
    for (const id of this.notClosed) {
      if (tiles.length >= this.limits.maxTilesPerDomain) return tiles
      tiles.push(id)
    }
    for (const id of this.shownClosed) {
      if (tiles.length >= this.limits.maxTilesPerDomain) return tiles
      tiles.push(id)
    }
    return tiles
  }

  /** Gives free Closed slots to Closed circuits without a tile, in discovery order. */
  private backfillClosed(): void {
    const wanted = Math.min(this.limits.maxClosedPerDomain, this.counts.Closed)
    if (this.shownClosed.size >= wanted) return
    for (const [id, state] of this.states) {
      if (state === "Closed") this.shownClosed.add(id)
      if (this.shownClosed.size >= wanted) return
    }
  }

  /** Records what the tile of a circuit shows; returns `false` when that is what it showed already. */
  show(view: CircuitView): boolean {
    const json = JSON.stringify(view)
    if (this.views.get(view.id)?.json === json) return false
    this.views.set(view.id, { view, json })
    return true
  }

  /**
   * Closes the interval: appends to each tile's history what its counts grew by since the last tick, and returns the
   * non-zero samples. A circuit first seen in this interval counts everything since it was created; a tile of a
   * circuit seen before starts from zero; counts that went down (a `reset` or `close`) count from zero.
   */
  sample(stats: ReadonlyArray<Stats>): Array<readonly [string, ...Sample]> {
    const active: Array<readonly [string, ...Sample]> = []
    for (const s of stats) {
      const total: Sample = [s.successes + s.failures + s.ignored, s.failures, s.slow, s.rejected]
      const before = this.totals.get(s.id) ?? (this.fresh.has(s.id) ? ZERO : total)
      const grew = total.every((n, i) => n >= before[i]!)
      const sample = total.map((n, i) => (grew ? n - before[i]! : n)) as unknown as Sample
      this.totals.set(s.id, total)
      let history = this.history.get(s.id)
      if (history === undefined) {
        history = []
        this.history.set(s.id, history)
      }
      history.push(sample)
      if (history.length > this.limits.historySamples) history.shift()
      if (sample.some((n) => n > 0)) active.push([s.id, ...sample])
    }
    this.fresh.clear()
    return active
  }

  /** Forgets the tile of a circuit. */
  hide(id: string): void {
    this.views.delete(id)
    this.history.delete(id)
    this.totals.delete(id)
  }

  summary(): DomainSummary {
    return {
      domain: this.domain,
      total: this.states.size,
      states: { ...this.counts },
      hidden: this.states.size - this.views.size
    }
  }
}
