/**
 * What the parts of one Redis store share: the settings, keys and scripts, the circuits it created, the job queue,
 * and the link's health. Every command goes through `command`: bounded by the command timeout, never failing, and
 * the one place that notices outages (outage detection).
 */
import { Cause, Clock, Effect, Option, Queue } from "effect"
import type { Context } from "effect"
import type { Redis } from "effect/persistence"
import type { Policy } from "./circuit.ts"
import type { StoreHost } from "./circuitStore.ts"
import type { Job, RedisCircuit } from "./redisCircuit.ts"
import * as Scripts from "./redisScripts.ts"
import type { Settings } from "./redisSettings.ts"

const unstarted: StoreHost = {
  circuit: () => {
    throw new Error("the Redis circuit store was used before it started")
  },
  publishAdopted: Effect.void
}

const evaluators = (redis: Redis.Redis["Service"]) => ({
  flush: redis.eval(Scripts.flushScript),
  transition: redis.eval(Scripts.transitionScript),
  acquire: redis.eval(Scripts.acquireScript),
  trial: redis.eval(Scripts.trialScript),
  read: redis.eval(Scripts.readScript),
  prune: redis.eval(Scripts.pruneScript)
})

type Evaluators = ReturnType<typeof evaluators>

/** @internal */
export class RedisLink {
  readonly domain: string
  readonly policy: Policy
  readonly settings: Settings
  readonly redis: Redis.Redis["Service"]
  readonly base: string
  /** Every circuit of the domain, by when its hash expires. */
  readonly index: string
  /** The circuits of the domain that are not Closed, read by a process that starts. */
  readonly active: string
  readonly channel: string
  readonly scripts: Evaluators
  readonly circuits = new Map<string, RedisCircuit>()
  /** Circuits with outcomes not sent yet. */
  readonly dirty: Array<RedisCircuit> = []
  /** Circuits created since the last first read, read together by one `Read` job. */
  readonly unread: Array<RedisCircuit> = []
  readonly jobs: Queue.Queue<Job>
  /** The breaker, once the store started. */
  host: StoreHost = unstarted
  /** Whether the start-up read is done: a circuit created later gets a first read of its own. */
  started = false
  down = false
  /** A command got no reply in time: the next tick asks Redis itself (PING) before calling it unreachable. */
  suspect = false
  resyncRequested = false
  /** Where the periodic sync's reading of the circuits not in use, in turn, goes on (`redisSync.ts`). */
  syncCursor: Iterator<RedisCircuit> | undefined = undefined
  nextSync = 0
  private readonly processToken = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
  private tokens = 0
  // An outage that starts within `syncInterval` of the last one's end continues it, silently: a Redis that answers
  // PING but refuses writes (full, read-only) flaps between down and up, and must not flood the log.
  private recoveredAt = Number.NEGATIVE_INFINITY
  private silent = false
  private readonly context: Context.Context<never>
  private readonly timedOut: string

  constructor(
    policy: Policy,
    settings: Settings,
    redis: Redis.Redis["Service"],
    jobs: Queue.Queue<Job>,
    context: Context.Context<never>
  ) {
    this.domain = policy.domain
    this.policy = policy
    this.settings = settings
    this.redis = redis
    this.jobs = jobs
    this.context = context
    this.base = `${settings.prefix}${policy.domain}:`
    this.index = `${this.base}index`
    this.active = `${this.base}active`
    this.channel = `${this.base}transitions`
    this.scripts = evaluators(redis)
    this.timedOut = `no reply within ${settings.timeoutMillis} ms`
  }

  /** A fresh token for a HalfOpen lease. */
  token(): string {
    return `${this.processToken}:${++this.tokens}`
  }

  /** The keys of the scripts about `circuit`. */
  keys(circuit: RedisCircuit): Scripts.Keys {
    return { index: this.index, active: this.active, key: circuit.key, trials: circuit.trialsKey }
  }

  /** Queues a job; its circuit counts it as pending until it ran. */
  submit(job: Job): void {
    if (job._tag !== "Read") job.circuit.pending++
    Queue.offerUnsafe(this.jobs, job)
  }

  /** Queues the first read of a circuit created after start-up: one job reads every circuit waiting for one. */
  firstRead(circuit: RedisCircuit): void {
    circuit.pending++
    if (this.unread.push(circuit) === 1) Queue.offerUnsafe(this.jobs, { _tag: "Read" })
  }

  /** Logs through the context the layer was built in, also when a caller's trial noticed the outage. */
  warn(message: string, detail?: unknown): Effect.Effect<void> {
    return this.log(detail === undefined ? Effect.logWarning(message) : Effect.logWarning(message, detail))
  }

  log(effect: Effect.Effect<void>): Effect.Effect<void> {
    return Effect.provideContext(Effect.annotateLogs(effect, { "circuit.domain": this.domain }), this.context)
  }

  /**
   * Runs a command: its reply, or none when Redis failed (Redis is then down) or did not answer in time (Redis is
   * then suspect, see `confirm`).
   */
  command<A>(effect: Effect.Effect<A, Redis.RedisError>): Effect.Effect<Option.Option<A>> {
    return Effect.timeoutOption(effect, this.settings.timeoutMillis).pipe(
      Effect.matchCauseEffect({
        onSuccess: (reply): Effect.Effect<Option.Option<A>> => {
          if (Option.isSome(reply)) return Effect.as(this.markUp(), reply)
          if (!this.down) this.suspect = true
          return Effect.succeed(reply)
        },
        onFailure: (cause): Effect.Effect<Option.Option<A>> =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.interrupt
            : Effect.as(this.markDown(Cause.squash(cause)), Option.none<A>())
      })
    )
  }

  /**
   * After a command got no reply in time: Redis is down only if a PING gets none within `commandTimeout` either. A
   * reply the process itself was too busy to read in time (a long garbage collection, a CPU-bound stretch) does
   * not make a healthy Redis unreachable.
   */
  confirm(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!this.suspect || this.down) return Effect.void
      this.suspect = false
      return Effect.timeoutOption(this.redis.send("PING"), this.settings.timeoutMillis).pipe(
        Effect.matchCauseEffect({
          onSuccess: (reply) => {
            if (Option.isNone(reply)) return this.markDown(this.timedOut)
            // Healthy after all: what the late command carried (a transition) goes again with the next tick's sync.
            this.nextSync = 0
            return Effect.void
          },
          onFailure: (cause) => (Cause.hasInterruptsOnly(cause) ? Effect.interrupt : this.markDown(Cause.squash(cause)))
        })
      )
    })
  }

  private markDown(reason: unknown): Effect.Effect<void> {
    return Effect.withFiber((fiber) => {
      if (this.down) return Effect.void
      this.down = true
      this.silent = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe() - this.recoveredAt < this.settings.syncMillis
      if (this.silent) return Effect.void
      return this.warn(
        `circuit breaker ${this.domain}: Redis unreachable, circuits run on local state until it is back`,
        reason
      )
    })
  }

  private markUp(): Effect.Effect<void> {
    return Effect.withFiber((fiber) => {
      this.suspect = false
      if (!this.down) return Effect.void
      this.down = false
      this.resyncRequested = true
      this.recoveredAt = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      if (this.silent) return Effect.void
      return this.log(Effect.logInfo(`circuit breaker ${this.domain}: Redis reachable again, re-syncing circuits`))
    })
  }
}
