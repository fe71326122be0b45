/**
 * The dashboard's one shared observer: it follows every breaker's `transitions`, and once per sampling interval reads
 * the stats of the circuits that have a tile (their counts since the last tick are the interval's sample) and
 * publishes one `tick` message for all connected pages. It does not subscribe to `events`, so a call pays nothing for
 * being watched, and a busy circuit costs one read and one sample per interval, however many calls it sees.
 */
import { Clock, Effect, PubSub, type Scope, Stream } from "effect"
import type { CircuitBreaker, Stats, Transition } from "../CircuitBreaker.ts"
import {
  type CircuitView,
  type DomainSummary,
  DomainModel,
  type Limits,
  type Sample,
  viewOf
} from "./dashboardModel.ts"

/** @internal */
export interface HubOptions extends Limits {
  readonly sampleMillis: number
  readonly recentTransitions: number
}

/** Sent once per sampling interval. @internal */
export interface TickMessage {
  readonly seq: number
  readonly at: number
  readonly domains: ReadonlyArray<DomainSummary>
  /** Tiles that are new or whose view changed. */
  readonly circuits: ReadonlyArray<CircuitView>
  /** Tiles that are gone, as `[domain, id]`. */
  readonly removed: ReadonlyArray<readonly [string, string]>
  /** The interval's non-zero samples of tiles, as `[domain, id, calls, failures, slow, rejected]`; others are 0. */
  readonly samples: ReadonlyArray<readonly [string, string, ...Sample]>
  readonly transitions: ReadonlyArray<Transition>
  /** Transitions of the interval beyond `recentTransitions`, not sent. */
  readonly droppedTransitions: number
}

/** Sent first on every connection. @internal */
export interface SnapshotMessage {
  /** The `seq` of the last tick; the next tick carries `seq + 1`. */
  readonly seq: number
  readonly at: number
  readonly sampleMillis: number
  readonly historySamples: number
  readonly controls: boolean
  readonly domains: ReadonlyArray<DomainSummary>
  readonly circuits: ReadonlyArray<CircuitView & { readonly samples: ReadonlyArray<Sample> }>
  readonly transitions: ReadonlyArray<Transition>
}

/** @internal */
export interface Hub {
  /** The `tick` messages; a subscriber that lags loses the oldest and sees a gap in `seq`. */
  readonly ticks: PubSub.PubSub<TickMessage>
  readonly snapshot: (controls: boolean, at: number) => SnapshotMessage
  /** The breaker of `domain` when it has a circuit `id` (read again when not seen yet); never creates one. */
  readonly breakerOf: (domain: string, id: string) => Effect.Effect<CircuitBreaker | undefined>
}

const TICK_BUFFER = 16

/** Circuits read per tick on average to find new ones: a domain of 1e6 circuits is read every 100 ticks. */
const REFRESH_BUDGET = 10_000

/** Reads every circuit of the domain: finds new ones and corrects the state of those without a tile. */
const refresh = (model: DomainModel): Effect.Effect<void> =>
  Effect.map(model.breaker.circuits, (all) => {
    model.sinceRefresh = 0
    for (const stats of all) model.setState(stats.id, stats.state)
  })

/** Starts the hub in the current scope. @internal */
export const make = (
  breakers: ReadonlyArray<CircuitBreaker>,
  options: HubOptions
): Effect.Effect<Hub, never, Scope.Scope> =>
  Effect.gen(function* () {
    const domains = new Map<string, DomainModel>()
    for (const breaker of breakers) domains.set(breaker.domain, new DomainModel(breaker, options))
    const ticks = yield* PubSub.sliding<TickMessage>(TICK_BUFFER)
    yield* Effect.addFinalizer(() => PubSub.shutdown(ticks))
    const recent: Array<Transition> = []
    let pending: Array<Transition> = []
    let dropped = 0
    let seq = 0

    const onTransition = (transition: Transition) => {
      const model = domains.get(transition.domain)
      if (model === undefined) return
      model.setState(transition.id, transition.to)
      pushBounded(recent, transition, options.recentTransitions)
      if (pending.length >= options.recentTransitions) dropped++
      pushBounded(pending, transition, options.recentTransitions)
    }

    for (const model of domains.values()) {
      yield* Stream.runForEach(model.breaker.transitions, (t) => Effect.sync(() => onTransition(t))).pipe(
        Effect.forkScoped
      )
    }
    // Let the followers subscribe before the circuits that exist already are read; those are not new to the first
    // sample.
    yield* Effect.yieldNow
    for (const model of domains.values()) {
      yield* refresh(model)
      model.fresh.clear()
    }

    const tick = Effect.gen(function* () {
      // Read first (effects), then change the shared model and publish in one synchronous step, so a snapshot taken
      // by a new connection is always the state after a whole tick.
      const reads: Array<{ model: DomainModel; tiles: ReadonlyArray<string>; stats: ReadonlyArray<Stats> }> = []
      for (const model of domains.values()) {
        // New circuits that have not transitioned yet are found by reading them all, at most every tick, less often
        // for large domains: about REFRESH_BUDGET circuits read per tick on average.
        if (++model.sinceRefresh * REFRESH_BUDGET >= model.states.size) yield* refresh(model)
        const tiles = model.tiles()
        // Every tile is read: reading is cheap, applies a due Open -> HalfOpen, and sees changes that publish no
        // transition (setMode); only the views that changed are sent.
        const stats = yield* Effect.forEach(tiles, (id) => model.breaker.stats(id))
        reads.push({ model, tiles, stats })
      }
      const at = yield* Clock.currentTimeMillis
      const circuits: Array<CircuitView> = []
      const removed: Array<readonly [string, string]> = []
      const samples: Array<readonly [string, string, ...Sample]> = []
      for (const { model, tiles, stats } of reads) {
        const kept = new Set(tiles)
        for (const id of model.views.keys()) {
          if (kept.has(id)) continue
          model.hide(id)
          removed.push([model.domain, id])
        }
        for (const s of stats) {
          model.setState(s.id, s.state)
          const view = viewOf(s)
          if (model.show(view)) circuits.push(view)
        }
        for (const [id, ...sample] of model.sample(stats)) samples.push([model.domain, id, ...sample])
      }
      const message: TickMessage = {
        seq: ++seq,
        at,
        domains: Array.from(domains.values(), (model) => model.summary()),
        circuits,
        removed,
        samples,
        transitions: pending,
        droppedTransitions: dropped
      }
      pending = []
      dropped = 0
      PubSub.publishUnsafe(ticks, message)
    })

    // The first tick gives the tiles at once; then one per interval, on the breakers' Clock.
    yield* tick
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(options.sampleMillis), tick)))

    const snapshot = (controls: boolean, at: number): SnapshotMessage => {
      const circuits: Array<CircuitView & { readonly samples: ReadonlyArray<Sample> }> = []
      for (const model of domains.values()) {
        for (const { view } of model.views.values()) {
          circuits.push({ ...view, samples: model.history.get(view.id) ?? [] })
        }
      }
      return {
        seq,
        at,
        sampleMillis: options.sampleMillis,
        historySamples: options.historySamples,
        controls,
        domains: Array.from(domains.values(), (model) => model.summary()),
        circuits,
        transitions: recent.slice()
      }
    }

    const breakerOf = (domain: string, id: string) =>
      Effect.suspend(() => {
        const model = domains.get(domain)
        if (model === undefined) return Effect.succeed(undefined)
        const found = () => (model.states.has(id) ? model.breaker : undefined)
        return found() !== undefined ? Effect.succeed(model.breaker) : Effect.map(refresh(model), found)
      })

    return { ticks, snapshot, breakerOf }
  })

const pushBounded = <A>(items: Array<A>, item: A, max: number): void => {
  items.push(item)
  if (items.length > max) items.shift()
}
