import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Data,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Metric,
  References,
  Scope,
  Stream,
  Tracer
} from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { createServer } from "node:http"
import { CircuitBreaker } from "effect-fallback"
import { Circuit, Verdict } from "../src/internal/circuit.ts"
import { resolvePolicy } from "../src/internal/circuitBreakerPolicy.ts"
import { BreakerMetrics, type Metered } from "../src/internal/circuitBreakerMetrics.ts"
import { captureSpans } from "./support/capture.ts"

class Boom extends Data.TaggedError("Boom")<{}> {}

class Accounts extends CircuitBreaker.Service<Accounts>()("test/Accounts") {}

const ok = Effect.succeed("ok")
const boom = Effect.fail(new Boom())

const MetricsServer = HttpRouter.serve(PrometheusMetrics.layerHttp(), {
  disableListenLog: true,
  disableLogger: true
}).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))

const scrape = HttpServer.addressFormattedWith((base) =>
  Effect.promise(() => fetch(`${base}/metrics`).then((response) => response.text()))
)

/** The samples of a Prometheus text body: series (`name{labels}`) to value, as written on the wire. */
const samplesOf = (body: string): ReadonlyMap<string, string> =>
  new Map(
    body
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => {
        const space = line.lastIndexOf(" ")
        return [line.slice(0, space), line.slice(space + 1)] as const
      })
  )

/** Runs a call that takes `duration` of TestClock time, and returns its exit. */
const taking = <A, E>(duration: Duration.Input, call: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.exit(call), { startImmediately: true })
    yield* TestClock.adjust(duration)
    return yield* Fiber.join(fiber)
  })

const repeat = <A, E>(times: number, call: Effect.Effect<A, E>) =>
  Effect.repeat(Effect.exit(call), { times: times - 1 })

const silent = Logger.layer([])

describe("CircuitBreaker observability: metrics, spans, logs and events", () => {
  describe("/metrics over HTTP on 127.0.0.1", () => {
    const breaker = CircuitBreaker.layer(Accounts, {
      failureThreshold: 2,
      resetTimeout: "30 seconds",
      failureRate: { threshold: 0.5, minimumCalls: 4, window: 10 },
      slowCall: { duration: "200 millis", rateThreshold: 0.5 }
    })

    // GetAccount: two instant successes, a 300 ms success (slow) and a 50 ms failure; stays Closed.
    // Charge: two failures open it, then three calls are rejected. Durations come from the TestClock, so they are exact.
    const traffic = Effect.gen(function* () {
      const accounts = yield* Accounts
      yield* repeat(2, ok.pipe(accounts.protect("GetAccount")))
      yield* taking("300 millis", Effect.sleep("300 millis").pipe(Effect.andThen(ok), accounts.protect("GetAccount")))
      yield* taking("50 millis", Effect.sleep("50 millis").pipe(Effect.andThen(boom), accounts.protect("GetAccount")))
      yield* repeat(2, boom.pipe(accounts.protect("Charge")))
      yield* repeat(3, ok.pipe(accounts.protect("Charge")))
    }).pipe(Effect.provide(TestClock.layer()))

    // A fresh registry per run, around the breaker's layer too: the breaker registers its series when it is built.
    const scraped = Effect.suspend(() =>
      traffic.pipe(
        Effect.andThen(scrape),
        Effect.provide(Layer.mergeAll(breaker, MetricsServer, silent)),
        Effect.provideService(Metric.MetricRegistry, new Map())
      )
    )

    const domainSeries = (name: string, extra = "") => `${name}{domain="test/Accounts"${extra}}`
    const series = (name: string, circuit: string, extra = "") =>
      `${name}{domain="test/Accounts",circuit="${circuit}"${extra}}`
    const OUTCOMES = ["success", "failure", "ignored", "rejected", "slow"]

    it.live(
      "calls by outcome for the domain and for each circuit, slow calls counted beside their success or failure",
      () =>
        Effect.gen(function* () {
          const samples = samplesOf(yield* scraped)
          assert.deepStrictEqual(
            OUTCOMES.map((outcome) =>
              samples.get(domainSeries("circuit_breaker_calls_total", `,outcome="${outcome}"`))
            ),
            ["3", "3", "0", "3", "1"]
          )
          const calls = (circuit: string, outcome: string) =>
            samples.get(series("circuit_breaker_circuit_calls_total", circuit, `,outcome="${outcome}"`))
          assert.deepStrictEqual(
            OUTCOMES.map((outcome) => calls("GetAccount", outcome)),
            ["3", "1", "0", "0", "1"]
          )
          assert.deepStrictEqual(
            OUTCOMES.map((outcome) => calls("Charge", outcome)),
            ["0", "2", "0", "3", "0"]
          )
        })
    )

    it.live("the Closed -> Open transition, the circuits per state, and each circuit's state (0 Closed, 2 Open)", () =>
      Effect.gen(function* () {
        const samples = samplesOf(yield* scraped)
        assert.strictEqual(
          samples.get(domainSeries("circuit_breaker_transitions_total", `,from="Closed",to="Open"`)),
          "1"
        )
        assert.deepStrictEqual(
          ["Closed", "HalfOpen", "Open"].map((state) =>
            samples.get(domainSeries("circuit_breaker_circuits", `,state="${state}"`))
          ),
          ["1", "0", "1"]
        )
        assert.strictEqual(
          samples.get(series("circuit_breaker_circuit_transitions_total", "Charge", `,from="Closed",to="Open"`)),
          "1"
        )
        assert.isUndefined(
          samples.get(series("circuit_breaker_circuit_transitions_total", "GetAccount", `,from="Closed",to="Open"`))
        )
        assert.strictEqual(samples.get(series("circuit_breaker_state", "GetAccount")), "0")
        assert.strictEqual(samples.get(series("circuit_breaker_state", "Charge")), "2")
      })
    )

    it.live("failure and slow-call rates of each circuit's window; NaN once an opening has cleared it", () =>
      Effect.gen(function* () {
        const samples = samplesOf(yield* scraped)
        assert.strictEqual(samples.get(series("circuit_breaker_failure_rate", "GetAccount")), "0.25")
        assert.strictEqual(samples.get(series("circuit_breaker_slow_call_rate", "GetAccount")), "0.25")
        assert.strictEqual(samples.get(series("circuit_breaker_failure_rate", "Charge")), "NaN")
        assert.strictEqual(samples.get(series("circuit_breaker_slow_call_rate", "Charge")), "NaN")
      })
    )

    it.live("one latency histogram in seconds for the domain, of every admitted call when slowCall is configured", () =>
      Effect.gen(function* () {
        const body = yield* scraped
        assert.include(body, "# TYPE circuit_breaker_call_duration_seconds histogram\n")
        const samples = samplesOf(body)
        const bucket = (le: string) =>
          samples.get(domainSeries("circuit_breaker_call_duration_seconds_bucket", `,le="${le}"`))
        // Durations 0, 0, 0.3 and 0.05 seconds (GetAccount), then 0 and 0 (Charge).
        assert.deepStrictEqual(["0.001", "0.032", "0.064", "0.256", "0.512", "+Inf"].map(bucket), [
          "4",
          "4",
          "5",
          "5",
          "6",
          "6"
        ])
        // Rejected calls never ran, so they have no duration.
        assert.strictEqual(samples.get(domainSeries("circuit_breaker_call_duration_seconds_count")), "6")
        assert.strictEqual(samples.get(domainSeries("circuit_breaker_call_duration_seconds_sum")), "0.35")
        assert.isFalse(
          Array.from(samples.keys()).some((key) =>
            key.startsWith('circuit_breaker_call_duration_seconds_bucket{domain="test/Accounts",circuit=')
          )
        )
      })
    )

    it.live("declares each family's Prometheus type; the isolated registry holds only this breaker's series", () =>
      Effect.gen(function* () {
        const body = yield* scraped
        for (const declaration of [
          "circuit_breaker_calls_total counter",
          "circuit_breaker_transitions_total counter",
          "circuit_breaker_circuits gauge",
          "circuit_breaker_call_duration_seconds histogram",
          "circuit_breaker_circuit_calls_total counter",
          "circuit_breaker_circuit_transitions_total counter",
          "circuit_breaker_state gauge",
          "circuit_breaker_failure_rate gauge",
          "circuit_breaker_slow_call_rate gauge"
        ])
          assert.include(body, `# TYPE ${declaration}\n`)
        const series = Array.from(samplesOf(body).keys())
        assert.isAbove(series.length, 0)
        assert.isTrue(series.every((name) => name.includes(`{domain="test/Accounts"`)))
      })
    )
  })

  describe("bounded series", () => {
    const breakerSeries = (text: string) =>
      Array.from(samplesOf(text).keys()).filter((series) => series.startsWith("circuit_breaker_"))
    const circuitLabels = (text: string) =>
      new Set(breakerSeries(text).flatMap((series) => series.match(/circuit="([^"]*)"/)?.slice(1) ?? []))
    const open = (domain: string, state: string) =>
      Metric.value(Metric.withAttributes(CircuitBreaker.metrics.circuits, { domain, state })).pipe(
        Effect.map((gauge) => gauge.value)
      )

    it.effect(
      "the number of series stays the same however many circuit ids are used; the domain counts every call",
      () =>
        Effect.gen(function* () {
          const breaker = yield* CircuitBreaker.make("test/Users", {
            failureThreshold: 1,
            failureRate: { threshold: 0.5, window: 10 },
            metrics: { circuitSeries: 3 }
          })
          const traffic = (from: number, to: number) =>
            Effect.forEach(
              Array.from({ length: to - from }, (_, i) => `user-${from + i}`),
              (id, i) => Effect.exit((i % 10 === 0 ? boom : ok).pipe(breaker.protect(id))),
              { discard: true }
            )
          yield* traffic(0, 50)
          const after50 = breakerSeries(yield* PrometheusMetrics.format())
          yield* traffic(50, 2_000)
          const text = yield* PrometheusMetrics.format()
          assert.deepStrictEqual(breakerSeries(text), after50)
          assert.deepStrictEqual(circuitLabels(text), new Set(["user-0", "user-1", "user-2"]))
          const samples = samplesOf(text)
          const calls = (outcome: string) =>
            samples.get(`circuit_breaker_calls_total{domain="test/Users",outcome="${outcome}"}`)
          assert.deepStrictEqual([calls("success"), calls("failure")], ["1800", "200"])
          assert.strictEqual(samples.get(`circuit_breaker_circuits{domain="test/Users",state="Open"}`), "200")
        }).pipe(Effect.scoped, Effect.provide(silent), Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("the circuits-per-state gauge follows creations and every transition", () =>
      Effect.gen(function* () {
        const breaker = yield* CircuitBreaker.make("test/States", { failureThreshold: 1, resetTimeout: "10 seconds" })
        const counts = Effect.all(["Closed", "HalfOpen", "Open"].map((state) => open("test/States", state)))
        assert.deepStrictEqual(yield* counts, [0, 0, 0])
        yield* Effect.forEach(["a", "b", "c"], (id) => ok.pipe(breaker.protect(id)), { discard: true })
        assert.deepStrictEqual(yield* counts, [3, 0, 0])
        yield* Effect.exit(boom.pipe(breaker.protect("a")))
        yield* breaker.open("b")
        assert.deepStrictEqual(yield* counts, [1, 0, 2])
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual(yield* breaker.state("a"), "HalfOpen")
        assert.deepStrictEqual(yield* counts, [1, 1, 1])
        yield* ok.pipe(breaker.protect("a"))
        yield* breaker.close("b")
        assert.deepStrictEqual(yield* counts, [3, 0, 0])
      }).pipe(Effect.scoped, Effect.provide(silent), Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("only the first circuitSeries circuits created get series labelled circuit; 0 gives none", () =>
      Effect.gen(function* () {
        const two = yield* CircuitBreaker.make("test/Two", { metrics: { circuitSeries: 2 } })
        const none = yield* CircuitBreaker.make("test/None", { metrics: { circuitSeries: 0 } })
        for (const id of ["first", "second", "third"]) {
          yield* ok.pipe(two.protect(id))
          yield* ok.pipe(none.protect(id))
        }
        const text = yield* PrometheusMetrics.format()
        const labelled = (domain: string) =>
          circuitLabels(
            breakerSeries(text)
              .filter((series) => series.includes(`domain="${domain}"`))
              .join("\n")
          )
        assert.deepStrictEqual(labelled("test/Two"), new Set(["first", "second"]))
        assert.deepStrictEqual(labelled("test/None"), new Set())
        assert.include(text, `circuit_breaker_calls_total{domain="test/None",outcome="success"} 3`)
      }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("label values are strings whatever untyped code passes as the domain", () =>
      Effect.gen(function* () {
        const breaker = yield* CircuitBreaker.make(42 as unknown as string)
        yield* ok.pipe(breaker.protect('quoted "id"\nwith a newline'))
        const text = yield* PrometheusMetrics.format()
        assert.include(text, `circuit_breaker_calls_total{domain="42",outcome="success"} 1`)
        assert.include(
          text,
          `circuit_breaker_circuit_calls_total{domain="42",circuit="quoted \\"id\\"\\nwith a newline",outcome="success"} 1`
        )
      }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("a metrics option out of range fails the breaker naming the field and the range", () =>
      Effect.gen(function* () {
        for (const metrics of [{ circuitSeries: -1 }, { circuitSeries: 1.5 }, { circuitSeries: 1e6 }, 7]) {
          const error = yield* Effect.flip(
            CircuitBreaker.make("test/Bad", { metrics: metrics as CircuitBreaker.MetricsOptions })
          )
          assert.strictEqual(error._tag, "CircuitBreakerConfigError")
          assert.strictEqual(error.field, typeof metrics === "number" ? "metrics" : "metrics.circuitSeries")
          if (typeof metrics !== "number") assert.include(error.message, "an integer >= 0 and <= 10000")
        }
      }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()))
    )
  })

  describe("the metrics' hooks for the core (internal)", () => {
    it.effect(
      "a dropped circuit leaves its state's count, its own series leave the registry, its place goes to the next circuit",
      () =>
        Effect.gen(function* () {
          const policy = yield* resolvePolicy("test/Drops", { failureRate: { threshold: 0.5, window: 10 } })
          const metrics = new BreakerMetrics("test/Drops", yield* Effect.context<never>(), 2)
          const entry = (id: string): Metered => ({ circuit: new Circuit(id, policy, []), series: undefined })
          const [a, b, c] = [entry("a"), entry("b"), entry("c")]
          for (const added of [a, b, c]) metrics.added(added)
          metrics.record(a, Verdict.Success, false)
          assert.deepStrictEqual(
            [a, b, c].map((added) => added.series !== undefined),
            [true, true, false]
          )
          assert.deepStrictEqual(metrics.states, { Closed: 3, HalfOpen: 0, Open: 0 })
          metrics.dropped(a)
          assert.isUndefined(a.series)
          assert.deepStrictEqual(metrics.states, { Closed: 2, HalfOpen: 0, Open: 0 })
          const text = yield* PrometheusMetrics.format()
          assert.notInclude(text, `circuit="a"`)
          assert.include(text, `circuit_breaker_calls_total{domain="test/Drops",outcome="success"} 1`)
          const d = entry("d")
          metrics.added(d)
          assert.isDefined(d.series)
          assert.strictEqual(metrics.circuitsWithSeries, 2)
          assert.include(yield* PrometheusMetrics.format(), `circuit_breaker_state{domain="test/Drops",circuit="d"} 0`)
        }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )
  })

  describe("series lifetime", () => {
    const breakerSeries = (text: string) =>
      Array.from(samplesOf(text).entries()).filter(([series]) => series.startsWith("circuit_breaker_"))

    it.effect("closing a breaker freezes its series at their last values, for an exporter's final flush", () =>
      Effect.gen(function* () {
        const during = yield* Effect.gen(function* () {
          const accounts = yield* Accounts
          yield* repeat(2, boom.pipe(accounts.protect("Charge")))
          return yield* PrometheusMetrics.format()
        }).pipe(
          Effect.provide(
            CircuitBreaker.layer(Accounts, {
              failureThreshold: 2,
              slowCall: { duration: "1 second", rateThreshold: 1 }
            })
          )
        )
        assert.isAbove(breakerSeries(during).length, 0)
        assert.deepStrictEqual(breakerSeries(yield* PrometheusMetrics.format()), breakerSeries(during))
      }).pipe(Effect.provide(silent), Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("closing an older breaker leaves the series of a newer one with the same domain and circuit live", () =>
      Effect.gen(function* () {
        const successes = `circuit_breaker_circuit_calls_total{domain="test/Twins",circuit="Charge",outcome="success"}`
        const older = yield* Scope.make()
        const first = yield* CircuitBreaker.make("test/Twins").pipe(Scope.provide(older))
        yield* ok.pipe(first.protect("Charge"))
        const second = yield* CircuitBreaker.make("test/Twins")
        yield* repeat(2, ok.pipe(second.protect("Charge")))
        yield* Scope.close(older, Exit.void)
        yield* ok.pipe(second.protect("Charge"))
        assert.strictEqual(samplesOf(yield* PrometheusMetrics.format()).get(successes), "3")
      }).pipe(Effect.scoped, Effect.provide(silent), Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("a circuit id that is not a string is refused, and a scrape still succeeds", () =>
      Effect.gen(function* () {
        const accounts = yield* Accounts
        yield* ok.pipe(accounts.protect("GetAccount"))
        const exit = yield* Effect.exit(ok.pipe(accounts.protect(undefined as unknown as string)))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.strictEqual((defect as CircuitBreaker.CircuitBreakerConfigError)._tag, "CircuitBreakerConfigError")
        assert.strictEqual((defect as CircuitBreaker.CircuitBreakerConfigError).field, "id")
        const text = yield* PrometheusMetrics.format()
        assert.include(
          text,
          `circuit_breaker_circuit_calls_total{domain="test/Accounts",circuit="GetAccount",outcome="success"} 1`
        )
      }).pipe(Effect.provide(CircuitBreaker.layer(Accounts)), Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("a time-window rate gauge forgets outcomes that left the window, as stats does", () =>
      Effect.gen(function* () {
        const accounts = yield* Accounts
        yield* Effect.exit(boom.pipe(accounts.protect("GetAccount")))
        yield* ok.pipe(accounts.protect("GetAccount"))
        const rate = () =>
          PrometheusMetrics.format().pipe(
            Effect.map((text) =>
              samplesOf(text).get(`circuit_breaker_failure_rate{domain="test/Accounts",circuit="GetAccount"}`)
            )
          )
        assert.strictEqual(yield* rate(), "0.5")
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* rate(), "NaN")
      }).pipe(
        Effect.provide(
          CircuitBreaker.layer(Accounts, {
            failureThreshold: 10,
            failureRate: { threshold: 0.9, minimumCalls: 2, window: "10 seconds" }
          })
        ),
        Effect.provideService(Metric.MetricRegistry, new Map())
      )
    )
  })

  describe("spans", () => {
    it.effect("protect annotates the current span with domain, id, state after the call, and outcome", () =>
      Effect.gen(function* () {
        const { spans, tracer } = captureSpans()
        const accounts = yield* Accounts
        const traced = <A, E>(name: string, call: Effect.Effect<A, E>) =>
          Effect.exit(call.pipe(accounts.protect("GetAccount"), Effect.withSpan(name)))
        yield* Effect.all([traced("ok", ok), traced("fails", boom), traced("rejected", ok)]).pipe(
          Effect.withTracer(tracer)
        )
        const breakerAttributes = (span: Tracer.Span) =>
          Object.fromEntries(Array.from(span.attributes).filter(([key]) => key.startsWith("circuit_breaker.")))
        const expected = (state: string, outcome: string) => ({
          "circuit_breaker.domain": "test/Accounts",
          "circuit_breaker.id": "GetAccount",
          "circuit_breaker.state": state,
          "circuit_breaker.outcome": outcome
        })
        assert.deepStrictEqual(
          spans.map((span) => [span.name, breakerAttributes(span)]),
          [
            ["ok", expected("Closed", "success")],
            ["fails", expected("Open", "failure")],
            ["rejected", expected("Open", "rejected")]
          ]
        )
      }).pipe(Effect.provide(Layer.merge(CircuitBreaker.layer(Accounts, { failureThreshold: 1 }), silent)))
    )
  })

  describe("logs", () => {
    it.effect("transitions are logged with circuit annotations: opening at Warn, the others at Info", () =>
      Effect.gen(function* () {
        const lines: Array<string> = []
        const capture = Logger.make(({ fiber, logLevel, message }) => {
          const annotations = fiber.getRef(References.CurrentLogAnnotations)
          lines.push(`${logLevel} ${(message as ReadonlyArray<unknown>).join(" ")} ${JSON.stringify(annotations)}`)
        })
        yield* Effect.gen(function* () {
          const accounts = yield* Accounts
          yield* Effect.exit(boom.pipe(accounts.protect("GetAccount")))
          yield* TestClock.adjust("10 seconds")
          yield* ok.pipe(accounts.protect("GetAccount"))
        }).pipe(Effect.provide(Logger.layer([capture])))
        const annotations = (from: string, to: string) =>
          JSON.stringify({
            "circuit.domain": "test/Accounts",
            "circuit.id": "GetAccount",
            "circuit.from": from,
            "circuit.to": to
          })
        assert.deepStrictEqual(lines, [
          `Warn circuit test/Accounts/GetAccount: Closed -> Open (failureThreshold) ${annotations("Closed", "Open")}`,
          `Info circuit test/Accounts/GetAccount: Open -> HalfOpen (resetTimeout) ${annotations("Open", "HalfOpen")}`,
          `Info circuit test/Accounts/GetAccount: HalfOpen -> Closed (trialSucceeded) ${annotations("HalfOpen", "Closed")}`
        ])
      }).pipe(Effect.provide(CircuitBreaker.layer(Accounts, { failureThreshold: 1, resetTimeout: "10 seconds" })))
    )
  })

  describe("events", () => {
    /**
     * A subscriber takes the first event and then stalls until `calls` more calls have completed; once it resumes it
     * finds only what its buffer kept. The last `tail` calls use another circuit id, so the kept events show which
     * end of the backlog survived.
     */
    const stalledSubscriber = (calls: number, tail: number) =>
      Effect.gen(function* () {
        const accounts = yield* Accounts
        const firstSeen = yield* Deferred.make<void>()
        const resume = yield* Deferred.make<void>()
        const received: Array<CircuitBreaker.CallEvent> = []
        const subscriber = yield* accounts.events.pipe(
          Stream.take(1 + tail),
          Stream.runForEach((event) => {
            received.push(event)
            return received.length === 1
              ? Deferred.succeed(firstSeen, undefined).pipe(Effect.andThen(Deferred.await(resume)))
              : Effect.void
          }),
          Effect.forkChild({ startImmediately: true })
        )
        yield* ok.pipe(accounts.protect("First"))
        yield* Deferred.await(firstSeen)
        let completed = 0
        const call = (id: string) =>
          ok.pipe(
            accounts.protect(id),
            Effect.tap(() => Effect.sync(() => completed++))
          )
        yield* Effect.repeat(call("Bulk"), { times: calls - tail - 1 })
        yield* Effect.repeat(call("Tail"), { times: tail - 1 })
        yield* Deferred.succeed(resume, undefined)
        yield* Fiber.join(subscriber)
        return { completed, kept: received.slice(1).map((event) => event.id) }
      })

    it.effect(
      "a stalled subscriber never blocks calls: 10,000 complete, its buffer holding 1024 events by default",
      () =>
        Effect.gen(function* () {
          const { completed, kept } = yield* stalledSubscriber(10_000, 1024)
          assert.strictEqual(completed, 10_000)
          assert.strictEqual(kept.length, 1024)
        }).pipe(Effect.provide(CircuitBreaker.layer(Accounts)))
    )

    it.effect("a lagging subscriber keeps the newest eventBufferSize events; the oldest are dropped", () =>
      Effect.gen(function* () {
        const { completed, kept } = yield* stalledSubscriber(10, 3)
        assert.strictEqual(completed, 10)
        assert.deepStrictEqual(kept, ["Tail", "Tail", "Tail"])
      }).pipe(Effect.provide(CircuitBreaker.layer(Accounts, { eventBufferSize: 3 })))
    )
  })
})
