/**
 * What the dashboard knows about one domain: the state of every circuit (from `transitions`, discovery from
 * `events`), the call counts of the current sampling interval, and which circuits are shown (the bounded tile set).
 * Plain mutable data, changed only by the hub's fibers; no Effect here.
 */
import { Duration } from "effect"
import type { CallEvent, CircuitBreaker, State, Stats } from "../CircuitBreaker.ts"

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
  /** Counts of the current interval: [calls, failures, slow, rejected]. */
  readonly current = new Map<string, [number, number, number, number]>()

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

  onEvent(event: CallEvent): void {
    if (!this.states.has(event.id)) this.setState(event.id, event.state)
    let counts = this.current.get(event.id)
    if (counts === undefined) {
      counts = [0, 0, 0, 0]
      this.current.set(event.id, counts)
    }
    if (event.outcome === "rejected") {
      counts[3]++
      return
    }
    counts[0]++
    if (event.outcome === "failure") counts[1]++
    if (event.slow) counts[2]++
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

  /** Closes the interval: appends a sample to every tile's history and returns the non-zero ones. */
  sample(tiles: ReadonlyArray<string>): Array<readonly [string, ...Sample]> {
    const active: Array<readonly [string, ...Sample]> = []
    for (const id of tiles) {
      const counts = this.current.get(id)
      const sample: Sample = counts === undefined ? [0, 0, 0, 0] : [counts[0], counts[1], counts[2], counts[3]]
      let history = this.history.get(id)
      if (history === undefined) {
        history = []
        this.history.set(id, history)
      }
      history.push(sample)
      if (history.length > this.limits.historySamples) history.shift()
      if (counts !== undefined) active.push([id, ...sample])
    }
    this.current.clear()
    return active
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
