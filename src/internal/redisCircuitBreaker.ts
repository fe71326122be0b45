/**
 * The Redis-backed domain breaker: the in-memory breaker of `circuitBreaker.ts`, whose circuits are kept in step with
 * a shared state in Redis by background fibers, so that no call waits on Redis except a HalfOpen trial asking for its
 * cluster-wide permit.
 *
 * - Closed calls are decided and recorded locally. Their outcomes are added to a per-circuit batch (a few counter
 *   increments) that a background fiber sends every `flushInterval`; a Lua script adds it to the shared aggregate and
 *   trips the circuit when the aggregate crosses the policy's thresholds.
 * - A transition of the local circuit (its own failures tripped it, a manual open/close/reset) is sent at once, as a
 *   compare-and-set on the shared epoch, by a reporter fiber that handles one job at a time, in order.
 * - Shared transitions are published on the domain's channel; each process applies them to its local circuits. A
 *   process also re-reads every circuit it knows every `syncInterval`, when it starts, and when Redis comes back.
 * - Every command has a timeout; a failure or timeout marks Redis down (one log line), after which nothing waits on
 *   Redis: trials are decided locally, outcomes stay in their batches, and a ping every `flushInterval` notices when
 *   Redis is back (one log line), which triggers a re-sync.
 */
import { Cause, Clock, Deferred, Duration, Effect, Layer, Option, Queue, Scope } from "effect"
import type { Context } from "effect"
import { Redis } from "effect/persistence"
import type * as CB from "../CircuitBreaker.ts"
import { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { type Circuit, type PendingTransition, type Policy, Verdict } from "./circuit.ts"
import { type CircuitSync, makeWith } from "./circuitBreaker.ts"
import { resolvePolicy } from "./circuitBreakerPolicy.ts"
import * as Scripts from "./redisScripts.ts"

/**
 * How a Redis-backed breaker talks to Redis.
 *
 * @internal
 */
export interface RedisOptions {
  /** Prefix of every key and channel. Processes with the same prefix and domain share their circuits. */
  readonly prefix?: string | undefined
  /** How often a process sends its aggregated outcomes. Default 100 millis. */
  readonly flushInterval?: Duration.Input | undefined
  /** How often a process re-reads every circuit it knows, converging after a missed message. Default 5 seconds. */
  readonly syncInterval?: Duration.Input | undefined
  /** The longest any Redis command may take before Redis counts as unreachable. Default 200 millis. */
  readonly commandTimeout?: Duration.Input | undefined
  /** How long a HalfOpen trial holds its cluster-wide permit at most. Default `halfOpenTimeout`, or 10 seconds. */
  readonly trialLease?: Duration.Input | undefined
  /** An idle circuit's keys expire after this long. Default 1 hour. */
  readonly idleTimeToLive?: Duration.Input | undefined
}

const DEFAULT_PREFIX = "effect-fallback:"

interface Settings {
  readonly prefix: string
  readonly flushMillis: number
  readonly syncMillis: number
  readonly timeoutMillis: number
  readonly leaseMillis: number
  readonly idleMillis: number
}

const resolveSettings = (
  domain: string,
  options: RedisOptions,
  policy: Policy
): Effect.Effect<Settings, CircuitBreakerConfigError> =>
  Effect.suspend(() => {
    const millis = (field: string, input: Duration.Input | undefined, fallback: number) => {
      if (input === undefined) return fallback
      const decoded = Duration.fromInput(input)
      const value = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
      if (!(value > 0) || !Number.isFinite(value)) {
        throw new CircuitBreakerConfigError({ domain, field, value: input, expected: "a positive finite duration" })
      }
      return Math.ceil(value)
    }
    try {
      const prefix = options.prefix ?? DEFAULT_PREFIX
      if (typeof prefix !== "string") {
        return Effect.fail(
          new CircuitBreakerConfigError({ domain, field: "redis.prefix", value: prefix, expected: "a string" })
        )
      }
      return Effect.succeed({
        prefix,
        flushMillis: millis("redis.flushInterval", options.flushInterval, 100),
        syncMillis: millis("redis.syncInterval", options.syncInterval, 5_000),
        timeoutMillis: millis("redis.commandTimeout", options.commandTimeout, 200),
        leaseMillis: millis("redis.trialLease", options.trialLease, policy.halfOpenTimeout?.millis ?? 10_000),
        idleMillis: millis("redis.idleTimeToLive", options.idleTimeToLive, 3_600_000)
      })
    } catch (error) {
      if (error instanceof CircuitBreakerConfigError) return Effect.fail(error)
      throw error
    }
  })

/** The policy as the flush script reads it: thresholds, rate thresholds (0 = off), and the window (kind, size). */
const policyArgs = (policy: Policy): ReadonlyArray<number> => {
  const window = policy.window
  return [
    policy.failureThreshold,
    policy.failureRate?.threshold ?? 0,
    policy.failureRate?.minimumCalls ?? 0,
    policy.slowCall?.rateThreshold ?? 0,
    policy.slowCall?.minimumCalls ?? 0,
    window === undefined ? 0 : window._tag === "Count" ? 1 : 2,
    window === undefined ? 0 : window._tag === "Count" ? window.size : window.millis
  ]
}

/** A local transition to make shared: a compare-and-set against the epoch the process had when it moved. */
interface TransitionJob {
  readonly _tag: "Transition"
  readonly remote: Remote
  readonly expectedEpoch: number
  readonly to: "Open" | "Closed"
  readonly reason: CB.TransitionReason
  readonly openMillis: number
  readonly openings: number
  readonly forced: boolean
  readonly manual: boolean
}

interface TrialJob {
  readonly _tag: "Trial"
  readonly remote: Remote
  readonly token: string
  readonly outcome: "success" | "failure" | "release"
  readonly openMillis: number
  readonly openings: number
}

interface ReadJob {
  readonly _tag: "Read"
  readonly remote: Remote
}

type Job = TransitionJob | TrialJob | ReadJob

const MANUAL_REASONS: ReadonlySet<CB.TransitionReason> = new Set(["forcedOpen", "manualClose", "reset"])

/** What the process shares with Redis about one circuit. */
class Remote implements CircuitSync {
  readonly circuit: Circuit
  readonly key: string
  readonly trialsKey: string
  readonly link: Link
  /** The newest shared epoch this process has seen for the circuit. */
  epoch = 0
  /** The reason of the last transition, local or shared, for re-seeding a Redis that lost the circuit. */
  reason: CB.TransitionReason = "failureThreshold"
  /** A local transition Redis did not confirm (it was unreachable): retried on re-sync. */
  unsent: TransitionJob | undefined = undefined
  /** Whether undecodable data was logged already (once until it decodes again). */
  corrupt = false
  /** HalfOpen leases held by trials in flight, by the generation that admitted them. */
  readonly leases: Array<{ readonly token: string; readonly generation: number }> = []
  // The batch of Closed-era outcomes of one local generation, not yet sent.
  batchGeneration = -1
  successes = 0
  failures = 0
  slow = 0
  /** Failures after the batch's last success. */
  trailing = 0
  sawSuccess = false
  dirty = false

  constructor(circuit: Circuit, link: Link) {
    this.circuit = circuit
    this.link = link
    this.key = `${link.base}circuit:${circuit.id}`
    this.trialsKey = `${link.base}trials:${circuit.id}`
  }

  // The hot path of a Closed call: a few increments, no allocation.
  recorded(generation: number, trial: boolean, verdict: Verdict | undefined, slow: boolean): void {
    if (trial) return this.link.trialSettled(this, generation, verdict)
    const circuit = this.circuit
    if (
      verdict === undefined ||
      verdict === Verdict.Ignored ||
      generation !== circuit.generation ||
      circuit.state !== "Closed" ||
      circuit.mode === "disabled"
    )
      return
    if (this.batchGeneration !== generation) this.clearBatch(generation)
    if (verdict === Verdict.Success) {
      this.successes++
      this.trailing = 0
      this.sawSuccess = true
    } else {
      this.failures++
      this.trailing++
    }
    if (slow) this.slow++
    if (!this.dirty) {
      this.dirty = true
      this.link.dirty.push(this)
    }
  }

  transitioned(transition: PendingTransition, remote: boolean): void {
    this.clearBatch(this.circuit.generation)
    this.reason = transition.reason
    // Open -> HalfOpen is a matter of time, which every process applies on its own.
    if (remote || transition.to === "HalfOpen") return
    const circuit = this.circuit
    const to = transition.to
    this.link.submit({
      _tag: "Transition",
      remote: this,
      expectedEpoch: this.epoch,
      to,
      reason: transition.reason,
      openMillis: to === "Open" ? circuit.lastOpeningMillis : 0,
      openings: circuit.openings,
      forced: circuit.forced,
      manual: MANUAL_REASONS.has(transition.reason)
    })
  }

  acquireTrial(generation: number): Effect.Effect<boolean> {
    return this.link.acquireTrial(this, generation)
  }

  clearBatch(generation: number): void {
    this.batchGeneration = generation
    this.successes = 0
    this.failures = 0
    this.slow = 0
    this.trailing = 0
    this.sawSuccess = false
  }
}

/** What every `Remote` of one breaker shares. */
interface Link {
  readonly base: string
  readonly dirty: Array<Remote>
  readonly submit: (job: Job) => void
  readonly trialSettled: (remote: Remote, generation: number, verdict: Verdict | undefined) => void
  readonly acquireTrial: (remote: Remote, generation: number) => Effect.Effect<boolean>
}

/** @internal */
export const make = (
  domain: string,
  options: CB.Options,
  redisOptions: RedisOptions
): Effect.Effect<CB.CircuitBreaker, CircuitBreakerConfigError, Redis.Redis | Scope.Scope> =>
  Effect.gen(function* () {
    const policy = yield* resolvePolicy(
      domain,
      options,
      (field, value, expected) => new CircuitBreakerConfigError({ domain, field, value, expected })
    )
    const settings = yield* resolveSettings(domain, redisOptions, policy)
    const redis = yield* Redis.Redis
    const base = `${settings.prefix}${domain}:`
    const index = `${base}circuits`
    const channel = `${base}transitions`
    const flushPolicy = policyArgs(policy)
    const evalFlush = redis.eval(Scripts.flushScript)
    const evalTransition = redis.eval(Scripts.transitionScript)
    const evalAcquire = redis.eval(Scripts.acquireScript)
    const evalTrial = redis.eval(Scripts.trialScript)
    const evalRead = redis.eval(Scripts.readScript)

    const remotes = new Map<string, Remote>()
    const jobs = yield* Queue.unbounded<Job>()
    const processToken = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
    let tokens = 0
    let started = false
    let down = false
    let resyncRequested = false
    let nextSync = 0

    // The layer logs about Redis through the context it was built in, also when a caller's trial noticed the outage.
    const layerContext = yield* Effect.context<never>()
    const annotations = { "circuit.domain": domain }
    const log = (effect: Effect.Effect<void>) =>
      Effect.provideContext(Effect.annotateLogs(effect, annotations), layerContext)
    const warn = (message: string, detail?: unknown) =>
      log(detail === undefined ? Effect.logWarning(message) : Effect.logWarning(message, detail))

    // ---------------------------------------------------------------------------------------------------------
    // Every command goes through `command`: bounded, never failing, and the one place that notices outages.

    // An outage that starts within `syncInterval` of the last one's end continues it, silently: a Redis that answers
    // PING but refuses writes (full, read-only) flaps between down and up, and must not flood the log.
    let recoveredAt = Number.NEGATIVE_INFINITY
    let silent = false

    const markDown = (reason: unknown): Effect.Effect<void> =>
      Effect.withFiber((fiber) => {
        if (down) return Effect.void
        down = true
        silent = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe() - recoveredAt < settings.syncMillis
        if (silent) return Effect.void
        return warn(
          `circuit breaker ${domain}: Redis unreachable, circuits run on local state until it is back`,
          reason
        )
      })

    const markUp: Effect.Effect<void> = Effect.withFiber((fiber) => {
      if (!down) return Effect.void
      down = false
      resyncRequested = true
      recoveredAt = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      if (silent) return Effect.void
      return log(Effect.logInfo(`circuit breaker ${domain}: Redis reachable again, re-syncing circuits`))
    })

    const timedOut = `no reply within ${settings.timeoutMillis} ms`
    const command = <A>(effect: Effect.Effect<A, Redis.RedisError>): Effect.Effect<Option.Option<A>> =>
      Effect.timeoutOption(effect, settings.timeoutMillis).pipe(
        Effect.matchCauseEffect({
          onSuccess: (reply): Effect.Effect<Option.Option<A>> =>
            Effect.as(Option.isSome(reply) ? markUp : markDown(timedOut), reply),
          onFailure: (cause): Effect.Effect<Option.Option<A>> =>
            Cause.hasInterruptsOnly(cause)
              ? Effect.interrupt
              : Effect.as(markDown(Cause.squash(cause)), Option.none<A>())
        })
      )

    /** Undecodable data is logged once per circuit (until it decodes again) and never acted on. */
    const undecodable = (remote: Remote | undefined, what: string, raw: unknown): Effect.Effect<void> => {
      if (remote !== undefined) {
        if (remote.corrupt) return Effect.void
        remote.corrupt = true
      }
      return warn(`circuit breaker ${domain}: ignoring ${what} that is not a circuit this library wrote`, raw)
    }

    /** The reply of a script about `remote`, or none (logged) when it is not one our scripts produce. */
    const replyOf = (remote: Remote, raw: unknown): Effect.Effect<Option.Option<Scripts.Reply>> => {
      const reply = Scripts.decodeReply(raw)
      if (Option.isNone(reply) || reply.value.status === "corrupt") {
        return Effect.as(undecodable(remote, `the Redis data of circuit "${remote.circuit.id}"`, raw), Option.none())
      }
      remote.corrupt = false
      return Effect.succeed(reply)
    }

    // ---------------------------------------------------------------------------------------------------------
    // Applying the shared state to local circuits.

    const adopt = (remote: Remote, snapshot: Scripts.Snapshot): Effect.Effect<void> => {
      if (snapshot.epoch <= remote.epoch) return Effect.void
      remote.epoch = snapshot.epoch
      remote.unsent = undefined
      const { forced, openings, remaining, state } = snapshot
      // An opening that is over is what a local HalfOpen already is.
      if (state === "Open" && !forced && remaining <= 0 && remote.circuit.state === "HalfOpen") return Effect.void
      const reason =
        snapshot.reason ??
        (state === "Closed" ? "manualClose" : state === "HalfOpen" ? "resetTimeout" : "failureThreshold")
      return control.apply(remote.circuit.id, (circuit, now) =>
        circuit.adopt(state, remaining, openings, forced, reason, now)
      )
    }

    /** Compares what Redis holds with the local circuit after a sync read, and pushes or adopts. */
    const reconcile = (remote: Remote, snapshot: Scripts.Snapshot, now: number): Effect.Effect<void> => {
      const circuit = remote.circuit
      const unsent = remote.unsent
      // A local transition Redis never confirmed, still the local state: offered again (the epoch check decides).
      if (unsent !== undefined && unsent.to === circuit.state) {
        return runJob(unsent.to === "Open" ? { ...unsent, openMillis: circuit.openUntil - now } : unsent)
      }
      remote.unsent = undefined
      // Redis lost a circuit this process holds open (a restart without persistence): seed it again.
      if (snapshot.epoch === 0 && remote.epoch > 0 && circuit.state === "Open") {
        return runJob({
          _tag: "Transition",
          remote,
          expectedEpoch: 0,
          to: "Open",
          reason: circuit.forced ? "forcedOpen" : remote.reason,
          openMillis: circuit.openUntil - now,
          openings: circuit.openings,
          forced: circuit.forced,
          manual: circuit.forced
        })
      }
      return adopt(remote, snapshot)
    }

    const remoteFor = (id: string): Effect.Effect<Remote> =>
      Effect.suspend(() => {
        const known = remotes.get(id)
        // Creating the circuit through `control` registers it (see `track`).
        if (known !== undefined) return Effect.succeed(known)
        return Effect.map(
          control.apply(id, () => {}),
          () => remotes.get(id)!
        )
      })

    // ---------------------------------------------------------------------------------------------------------
    // Jobs: one at a time, in the order the local circuits produced them.

    const runJob = (job: Job): Effect.Effect<void> => {
      const remote = job.remote
      switch (job._tag) {
        case "Read":
          return Effect.gen(function* () {
            const raw = yield* command(evalRead([remote.key]))
            if (Option.isNone(raw)) return
            const reply = yield* replyOf(remote, Array.isArray(raw.value) ? raw.value[0] : raw.value)
            if (Option.isNone(reply)) return
            yield* reconcile(remote, reply.value.snapshot, yield* Clock.currentTimeMillis)
          })
        case "Transition":
          return Effect.flatMap(
            command(
              evalTransition(index, remote.key, remote.trialsKey, {
                channel,
                idleMillis: settings.idleMillis,
                id: remote.circuit.id,
                expectedEpoch: String(job.expectedEpoch),
                to: job.to,
                reason: job.reason,
                openMillis: job.forced ? 0 : Math.max(1, Math.ceil(job.openMillis)),
                openings: job.openings,
                forced: job.forced,
                manual: job.manual
              })
            ),
            (raw) => {
              if (Option.isNone(raw)) {
                remote.unsent = job
                return Effect.void
              }
              if (remote.unsent === job) remote.unsent = undefined
              return Effect.flatMap(replyOf(remote, raw.value), (reply) => {
                if (Option.isNone(reply)) return Effect.void
                if (reply.value.status === "applied") {
                  remote.epoch = Math.max(remote.epoch, reply.value.snapshot.epoch)
                  return Effect.void
                }
                return adopt(remote, reply.value.snapshot)
              })
            }
          )
        case "Trial":
          return Effect.flatMap(
            command(
              evalTrial(index, remote.key, remote.trialsKey, {
                channel,
                idleMillis: settings.idleMillis,
                id: remote.circuit.id,
                token: job.token,
                outcome: job.outcome,
                successThreshold: policy.successThreshold,
                openMillis: Math.max(1, Math.ceil(job.openMillis)),
                openings: job.openings
              })
            ),
            (raw) =>
              Option.isNone(raw)
                ? Effect.void
                : Effect.flatMap(replyOf(remote, raw.value), (reply) =>
                    Option.isNone(reply) ? Effect.void : adopt(remote, reply.value.snapshot)
                  )
          )
      }
    }

    // ---------------------------------------------------------------------------------------------------------
    // HalfOpen trials: the one place a call waits on Redis, bounded by the command timeout.

    const acquireTrial = (remote: Remote, generation: number): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        if (down || remote.circuit.mode !== "normal") return Effect.succeed(true)
        const token = `${processToken}:${++tokens}`
        return Effect.flatMap(
          command(
            evalAcquire(
              index,
              remote.key,
              remote.trialsKey,
              channel,
              settings.idleMillis,
              remote.circuit.id,
              token,
              settings.leaseMillis,
              policy.halfOpenMaxCalls
            )
          ),
          (raw) => {
            // Unreachable: the local circuit decides alone, as it would without Redis.
            if (Option.isNone(raw)) return Effect.succeed(true)
            return Effect.flatMap(replyOf(remote, raw.value), (reply) => {
              if (Option.isNone(reply)) return Effect.succeed(true)
              const { snapshot, status } = reply.value
              if (status === "granted") remote.leases.push({ token, generation })
              return Effect.as(adopt(remote, snapshot), status === "granted" || status === "closed")
            })
          }
        )
      })

    const link: Link = {
      base,
      dirty: [],
      submit: (job) => {
        Queue.offerUnsafe(jobs, job)
      },
      trialSettled: (remote, generation, verdict) => {
        const at = remote.leases.findIndex((lease) => lease.generation === generation)
        if (at < 0) return
        const { token } = remote.leases.splice(at, 1)[0]!
        const circuit = remote.circuit
        const open = circuit.state === "Open"
        const openings = open ? circuit.openings : circuit.openings + 1
        Queue.offerUnsafe(jobs, {
          _tag: "Trial",
          remote,
          token,
          outcome:
            verdict === undefined || verdict === Verdict.Ignored
              ? "release"
              : verdict === Verdict.Success
                ? "success"
                : "failure",
          openMillis: open ? circuit.lastOpeningMillis : circuit.openingMillisFor(openings, undefined),
          openings
        })
      },
      acquireTrial
    }

    const { breaker, control } = yield* makeWith(domain, options, {
      track: (circuit) => {
        const remote = new Remote(circuit, link)
        remotes.set(circuit.id, remote)
        // A circuit first used after start-up may be shared already: read it rather than wait for the next sync.
        if (started) Queue.offerUnsafe(jobs, { _tag: "Read", remote })
        return remote
      }
    })

    // ---------------------------------------------------------------------------------------------------------
    // Background fibers, scoped to the layer.

    const flushBatches: Effect.Effect<void> = Effect.withFiber((fiber) => {
      const dirty = link.dirty
      if (dirty.length === 0) return Effect.void
      const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const sent: Array<Remote> = []
      const keys: Array<string> = []
      const batches: Array<string | number> = []
      for (const remote of dirty.splice(0, dirty.length)) {
        remote.dirty = false
        const circuit = remote.circuit
        if (
          circuit.state === "Closed" &&
          remote.batchGeneration === circuit.generation &&
          remote.successes + remote.failures > 0
        ) {
          const openings = circuit.nextOpenings(now)
          keys.push(remote.key, remote.trialsKey)
          batches.push(
            circuit.id,
            String(remote.epoch),
            remote.successes,
            remote.failures,
            remote.slow,
            remote.trailing,
            remote.sawSuccess ? 1 : 0,
            Math.max(1, Math.ceil(circuit.openingMillisFor(openings, undefined))),
            openings
          )
          sent.push(remote)
        }
        remote.clearBatch(circuit.generation)
      }
      if (sent.length === 0) return Effect.void
      return Effect.flatMap(
        command(evalFlush(index, keys, channel, settings.idleMillis, flushPolicy, batches)),
        (raw) => {
          if (Option.isNone(raw)) return Effect.void
          const replies = raw.value
          if (!Array.isArray(replies) || replies.length !== sent.length) {
            return undecodable(undefined, "a flush reply", replies)
          }
          return Effect.forEach(
            sent,
            (remote, i) =>
              Effect.flatMap(replyOf(remote, replies[i]), (reply) =>
                Option.isNone(reply) ? Effect.void : adopt(remote, reply.value.snapshot)
              ),
            { discard: true }
          )
        }
      )
    })

    /** Reads every circuit in `ids` (or every known one) and reconciles it with the local circuit. */
    const syncCircuits = (ids: ReadonlyArray<string>): Effect.Effect<void> =>
      Effect.gen(function* () {
        if (ids.length === 0) return
        const keys = ids.map((id) => `${base}circuit:${id}`)
        const raw = yield* command(evalRead(keys))
        if (Option.isNone(raw)) return
        const replies = raw.value
        if (!Array.isArray(replies) || replies.length !== ids.length) {
          return yield* undecodable(undefined, "a sync reply", replies)
        }
        const now = yield* Clock.currentTimeMillis
        for (let i = 0; i < ids.length; i++) {
          const known = remotes.get(ids[i]!)
          const snapshot = Scripts.decodeReply(replies[i])
          // A circuit this process does not use yet is created only when it is shared and not Closed-by-default.
          if (known === undefined && (Option.isNone(snapshot) || snapshot.value.snapshot.epoch === 0)) continue
          const remote = known ?? (yield* remoteFor(ids[i]!))
          const reply = yield* replyOf(remote, replies[i])
          if (Option.isSome(reply)) yield* reconcile(remote, reply.value.snapshot, now)
        }
      })

    const syncAll = Effect.suspend(() => syncCircuits(Array.from(remotes.keys())))

    /** At start-up: every circuit the index lists, so a late process admits nothing an open circuit would reject. */
    const loadIndex = Effect.flatMap(command(redis.send<unknown>("SMEMBERS", index)), (raw) => {
      if (Option.isNone(raw)) return Effect.void
      const ids = Scripts.decodeIdList(raw.value)
      if (Option.isNone(ids)) return undecodable(undefined, "the circuit index", raw.value)
      return syncCircuits(Array.from(new Set([...ids.value, ...remotes.keys()])))
    })

    const tick = Effect.gen(function* () {
      if (down) {
        yield* command(redis.send("PING"))
        if (down) return
      }
      const now = yield* Clock.currentTimeMillis
      if (resyncRequested || now >= nextSync) {
        resyncRequested = false
        nextSync = now + settings.syncMillis
        yield* syncAll
      }
      yield* flushBatches
    })

    const ticker = Effect.forever(Effect.andThen(Effect.sleep(settings.flushMillis), tick))

    const reporter = Effect.forever(Effect.flatMap(Queue.take(jobs), (job) => (down ? skipJob(job) : runJob(job))))

    // While Redis is down a transition is kept for the re-sync; a read or a trial report is dropped (its lease
    // expires).
    const skipJob = (job: Job): Effect.Effect<void> =>
      Effect.sync(() => {
        if (job._tag === "Transition") job.remote.unsent = job
      })

    const subscribed = yield* Deferred.make<void>()
    const listen = Effect.gen(function* () {
      const messages = yield* redis.subscribe(channel)
      yield* Deferred.succeed(subscribed, undefined)
      while (true) {
        const message = yield* Queue.take(messages)
        const decoded = Scripts.decodeMessage(message.message)
        if (Option.isNone(decoded)) {
          yield* undecodable(undefined, `a message on ${channel}`, message.message)
          continue
        }
        yield* Effect.flatMap(remoteFor(decoded.value.id), (remote) => adopt(remote, decoded.value.snapshot))
      }
    }).pipe(Effect.scoped)

    // node-redis' subscriber reconnects by itself; when it gives up, subscribe again, backing off (each failed attempt
    // is logged by the client) up to `syncInterval`, and re-read what was missed.
    const resubscribeCap = Math.max(settings.syncMillis, 500)
    const listener = Effect.gen(function* () {
      let failures = 0
      while (true) {
        const started = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(listen)
        if (exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
        resyncRequested = true
        const lasted = (yield* Clock.currentTimeMillis) - started
        failures = lasted > 2 * resubscribeCap ? 1 : failures + 1
        yield* Effect.sleep(Math.min(500 * 2 ** (failures - 1), resubscribeCap))
      }
    })

    yield* Effect.forkScoped(listener)
    // Subscribe before the first read, so nothing published in between is missed.
    yield* Deferred.await(subscribed).pipe(Effect.timeoutOption(settings.timeoutMillis))
    yield* loadIndex
    nextSync = (yield* Clock.currentTimeMillis) + settings.syncMillis
    started = true
    // Outcomes still in a batch are sent when the layer closes (bounded like every command).
    yield* Effect.addFinalizer(() => (down ? Effect.void : flushBatches))
    yield* Effect.forkScoped(reporter)
    yield* Effect.forkScoped(ticker)
    return breaker
  })

/** @internal */
export const layer = <Self>(
  key: Context.Key<Self, CB.CircuitBreaker>,
  options: CB.Options,
  redisOptions: RedisOptions
): Layer.Layer<Self, CircuitBreakerConfigError, Redis.Redis> => Layer.effect(key, make(key.key, options, redisOptions))
