import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, References, Stream } from "effect"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import { TestClock } from "effect/testing"
import { CircuitBreaker, HttpResilience } from "effect-fallback"
import { captureLogs } from "./support/capture.ts"
import { closedPort, type Handler, reply, type TestServer, testServer } from "./support/httpServer.ts"

class Api extends CircuitBreaker.Service<Api>()("test/Api") {}

/** A server whose answer depends on the path; unknown paths answer 200. */
const routes =
  (table: Record<string, Handler>): Handler =>
  (request, response) => {
    const path = (request.url ?? "/").split("?")[0]!
    ;(table[path] ?? reply(200))(request, response)
  }

const server = (table: Record<string, Handler> = {}) => testServer(routes(table))

const breaker = (options: CircuitBreaker.Options = {}) =>
  CircuitBreaker.make(
    "test/Api",
    HttpResilience.breakerOptions({ failureThreshold: 2, resetTimeout: "1 second", ...options })
  )

/** A protected client on the real node:http client, with the breaker it uses. */
const protectedClient = (breakerOptions: CircuitBreaker.Options = {}, options?: HttpResilience.Options) =>
  Effect.gen(function* () {
    const cb = yield* breaker(breakerOptions)
    const client = (yield* HttpClient.HttpClient).pipe(HttpResilience.protect(cb, options))
    return { breaker: cb, client }
  })

const circuitOf = (server: TestServer) => `127.0.0.1:${server.port}`

const status = (effect: Effect.Effect<{ readonly status: number }, unknown>) =>
  Effect.map(effect, (response) => response.status)

const live = Effect.provide(NodeHttpClient.layerNodeHttp)
/** Real sockets, the breaker on the TestClock, started at the wall clock's now (for HTTP dates). */
const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient | import("effect").Scope.Scope>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(Date.now())
    return yield* effect
  }).pipe(Effect.scoped, live)

describe("HttpResilience", () => {
  describe("what counts", () => {
    it.effect("a 5xx counts as a failure and is still returned to the caller", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/boom": reply(500) })
          const { breaker, client } = yield* protectedClient()
          assert.strictEqual(yield* status(client.get(`${api.url}/boom`)), 500)
          assert.strictEqual(yield* status(client.get(`${api.url}/boom`)), 500)
          const stats = yield* breaker.stats(circuitOf(api))
          assert.deepStrictEqual([stats.state, stats.failures], ["Open", 2])
        })
      )
    )

    for (const code of [408, 429, 502, 503, 504, 599]) {
      it.effect(`${code} counts as a failure`, () =>
        run(
          Effect.gen(function* () {
            const api = yield* server({ "/x": reply(code) })
            const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
            yield* client.get(`${api.url}/x`)
            assert.strictEqual(yield* breaker.state(circuitOf(api)), "Open")
          })
        )
      )
    }

    it.effect("404 and other answers are successes: they say nothing about the dependency's health", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/missing": reply(404), "/bad": reply(400), "/moved": reply(301) })
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
          for (const path of ["/missing", "/bad", "/moved", "/ok"]) yield* client.get(`${api.url}${path}`)
          const stats = yield* breaker.stats(circuitOf(api))
          assert.deepStrictEqual([stats.state, stats.successes, stats.failures], ["Closed", 4, 0])
        })
      )
    )

    it.effect("a transport error (connection refused) counts as a failure and reaches the caller", () =>
      run(
        Effect.gen(function* () {
          const port = yield* closedPort
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
          const error = yield* Effect.flip(client.get(`http://127.0.0.1:${port}/`))
          assert.isTrue(HttpClientError.isHttpClientError(error) && error.reason._tag === "TransportError")
          assert.strictEqual(yield* breaker.state(`127.0.0.1:${port}`), "Open")
        })
      )
    )

    it.effect("isFailure overrides the classification", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/missing": reply(404), "/boom": reply(500) })
          const { breaker, client } = yield* protectedClient(
            { failureThreshold: 1 },
            { isFailure: (response) => response.status === 404 }
          )
          yield* client.get(`${api.url}/boom`)
          assert.strictEqual(yield* breaker.state(circuitOf(api)), "Closed")
          yield* client.get(`${api.url}/missing`)
          assert.strictEqual(yield* breaker.state(circuitOf(api)), "Open")
        })
      )
    )

    it.effect("an isFailure that throws counts the response as a failure, logs the throw and still returns it", () => {
      const capture = captureLogs()
      return run(
        Effect.gen(function* () {
          const api = yield* server({ "/ok": reply(200) })
          const { breaker, client } = yield* protectedClient(
            { failureThreshold: 1 },
            {
              isFailure: () => {
                throw new Error("classifier bug")
              }
            }
          )
          const response = yield* client.get(`${api.url}/ok`)
          assert.strictEqual(response.status, 200)
          assert.strictEqual(yield* breaker.state(circuitOf(api)), "Open")
          const line = capture.logs.find((log) => log.text.includes("isFailure threw"))
          assert.strictEqual(line?.level, "Error")
        })
      ).pipe(Effect.provide(capture.layer))
    })

    it.effect(
      "a StatusCodeError from filterStatusOk is classified by its status and reaches the caller unchanged",
      () =>
        run(
          Effect.gen(function* () {
            const api = yield* server({ "/missing": reply(404), "/boom": reply(503) })
            const cb = yield* breaker({ failureThreshold: 1 })
            const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk, HttpResilience.protect(cb))
            const missing = yield* Effect.flip(client.get(`${api.url}/missing`))
            assert.isTrue(HttpClientError.isHttpClientError(missing) && missing.reason._tag === "StatusCodeError")
            assert.strictEqual(yield* cb.state(circuitOf(api)), "Closed")
            const boom = yield* Effect.flip(client.get(`${api.url}/boom`))
            assert.isTrue(HttpClientError.isHttpClientError(boom) && boom.reason._tag === "StatusCodeError")
            assert.strictEqual(yield* cb.state(circuitOf(api)), "Open")
          })
        )
    )
  })

  describe("an open circuit", () => {
    it.effect("rejects with CircuitOpenError and sends nothing, then lets a trial through and closes on recovery", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/flaky": reply(503) })
          const { breaker, client } = yield* protectedClient()
          yield* client.get(`${api.url}/flaky`)
          yield* client.get(`${api.url}/flaky`)
          assert.strictEqual(api.hitsOf("/flaky"), 2)
          for (let i = 0; i < 5; i++) {
            const error = yield* Effect.flip(client.get(`${api.url}/flaky`))
            assert.isTrue(CircuitBreaker.isCircuitOpenError(error))
          }
          assert.strictEqual(api.hitsOf("/flaky"), 2)
          api.handle = routes({})
          yield* TestClock.adjust("1 second")
          assert.strictEqual(yield* status(client.get(`${api.url}/flaky`)), 200)
          assert.strictEqual(api.hitsOf("/flaky"), 3)
          assert.strictEqual(yield* breaker.state(circuitOf(api)), "Closed")
        })
      )
    )

    it.effect("a hanging dependency trips the circuit when the timeout is inside the protection", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/hang": () => {} })
          const cb = yield* breaker({ failureThreshold: 1 })
          const client = (yield* HttpClient.HttpClient).pipe(
            HttpClient.transformResponse(Effect.timeout("2 seconds")),
            HttpResilience.protect(cb)
          )
          const call = yield* Effect.forkChild(Effect.flip(client.get(`${api.url}/hang`)))
          while (api.hitsOf("/hang") === 0) yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
          yield* TestClock.adjust("2 seconds")
          const error = yield* Fiber.join(call)
          assert.strictEqual((error as { _tag: string })._tag, "TimeoutError")
          assert.strictEqual(yield* cb.state(circuitOf(api)), "Open")
          assert.isTrue(CircuitBreaker.isCircuitOpenError(yield* Effect.flip(client.get(`${api.url}/hang`))))
          assert.strictEqual(api.hitsOf("/hang"), 1)
        })
      )
    )
  })

  describe("Retry-After", () => {
    it.effect("delta-seconds on a 429 lengthens the opening it causes", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/throttled": reply(429, { "retry-after": "30" }) })
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
          yield* client.get(`${api.url}/throttled`)
          const stats = yield* breaker.stats(circuitOf(api))
          assert.strictEqual(Duration.toMillis(stats.retryAfter!), 30_000)
          yield* TestClock.adjust("29 seconds")
          assert.strictEqual(yield* breaker.state(circuitOf(api)), "Open")
          yield* TestClock.adjust("1 second")
          assert.strictEqual(yield* breaker.state(circuitOf(api)), "HalfOpen")
        })
      )
    )

    it.effect("an HTTP date on a 503 lengthens the opening to that date", () =>
      run(
        Effect.gen(function* () {
          const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 45_000)
          yield* TestClock.setTime(at.getTime() - 45_000)
          const api = yield* server({ "/down": reply(503, { "retry-after": at.toUTCString() }) })
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
          yield* client.get(`${api.url}/down`)
          const stats = yield* breaker.stats(circuitOf(api))
          assert.strictEqual(Duration.toMillis(stats.retryAfter!), 45_000)
        })
      )
    )

    it.effect("the hint is capped by maxResetTimeout", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/throttled": reply(429, { "retry-after": "3600" }) })
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1, maxResetTimeout: "1 minute" })
          yield* client.get(`${api.url}/throttled`)
          assert.strictEqual(Duration.toMillis((yield* breaker.stats(circuitOf(api))).retryAfter!), 60_000)
        })
      )
    )

    it.effect("is read on 429 and 503 only", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/boom": reply(500, { "retry-after": "30" }) })
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
          yield* client.get(`${api.url}/boom`)
          assert.strictEqual(Duration.toMillis((yield* breaker.stats(circuitOf(api))).retryAfter!), 1_000)
        })
      )
    )

    it.effect("a malformed header is ignored and logged at Debug", () => {
      const capture = captureLogs()
      return run(
        Effect.gen(function* () {
          const api = yield* server({ "/throttled": reply(429, { "retry-after": "soon" }) })
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
          yield* client.get(`${api.url}/throttled`)
          assert.strictEqual(Duration.toMillis((yield* breaker.stats(circuitOf(api))).retryAfter!), 1_000)
          const line = capture.logs.find((log) => log.text.includes("malformed Retry-After"))
          assert.strictEqual(line?.level, "Debug")
          assert.strictEqual(line?.annotations.retryAfter, "soon")
        })
      ).pipe(Effect.provide(capture.layer), Effect.provideService(References.MinimumLogLevel, "Debug"))
    })
  })

  describe("circuits", () => {
    it.effect("one circuit per host and port by default", () =>
      run(
        Effect.gen(function* () {
          const down = yield* server({ "/": reply(500) })
          const up = yield* server()
          const { breaker, client } = yield* protectedClient({ failureThreshold: 1 })
          yield* client.get(`${down.url}/`)
          yield* client.get(`${up.url}/`)
          const states = (yield* breaker.circuits).map((stats) => [stats.id, stats.state])
          assert.sameDeepMembers(states, [
            [circuitOf(down), "Open"],
            [circuitOf(up), "Closed"]
          ])
        })
      )
    )

    it.effect("the host circuit spells out the scheme's default port and ignores user info, path and query", () =>
      Effect.gen(function* () {
        const cb = yield* breaker()
        const memory = HttpClient.make((request) =>
          Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 200 })))
        )
        const client = memory.pipe(HttpResilience.protect(cb))
        for (const url of [
          "https://api.example.com/a?b=1",
          "https://user:secret@api.example.com/c",
          "https://api.example.com",
          "http://api.example.com#top",
          "http://[::1]:8080/x",
          "HTTP://API.example.com:80/y"
        ]) {
          yield* client.get(url)
        }
        const ids = (yield* cb.circuits).map((stats) => [stats.id, stats.successes])
        assert.sameDeepMembers(ids, [
          ["api.example.com:443", 3],
          ["api.example.com:80", 2],
          ["[::1]:8080", 1]
        ])
      })
    )

    it.effect("circuit may be a function of the request, e.g. a path prefix", () =>
      run(
        Effect.gen(function* () {
          const api = yield* server({ "/orders/1": reply(500), "/users/1": reply(200) })
          const { breaker, client } = yield* protectedClient(
            { failureThreshold: 1 },
            { circuit: (request) => new URL(request.url).pathname.split("/")[1] }
          )
          yield* client.get(`${api.url}/orders/1`)
          yield* client.get(`${api.url}/users/1`)
          assert.strictEqual(yield* breaker.state("orders"), "Open")
          assert.strictEqual(yield* breaker.state("users"), "Closed")
          assert.strictEqual(yield* status(client.get(`${api.url}/users/1`)), 200)
        })
      )
    )
  })

  it.effect("a response body is not buffered: the circuit records the answer while its body still streams", () =>
    run(
      Effect.gen(function* () {
        let finish = () => {}
        const api = yield* server({
          "/stream": (_request, response) => {
            response.writeHead(200, { "content-type": "text/plain" })
            response.write("first;")
            finish = () => response.end("last")
          }
        })
        const { breaker, client } = yield* protectedClient()
        const response = yield* client.get(`${api.url}/stream`)
        assert.strictEqual((yield* breaker.stats(circuitOf(api))).successes, 1)
        const body = yield* Stream.decodeText(response.stream).pipe(
          Stream.tap((chunk) => Effect.sync(() => chunk.includes("first") && finish())),
          Stream.mkString
        )
        assert.strictEqual(body, "first;last")
      })
    )
  )

  describe("options from untyped code", () => {
    const memory = HttpClient.make(() => Effect.never)
    for (const [field, options, message] of [
      ["circuit", { circuit: "origin" }, `circuit must be "host" or a function of the request, got "origin"`],
      ["isFailure", { isFailure: 500 }, "isFailure must be a function of the response, got 500"]
    ] as const) {
      it.effect(`a wrong ${field} throws HttpResilienceConfigError from protect and kills the layer`, () =>
        Effect.gen(function* () {
          const cb = yield* breaker()
          const bad = options as unknown as HttpResilience.Options
          const thrown = yield* Effect.flip(Effect.try(() => memory.pipe(HttpResilience.protect(cb, bad))))
          assert.strictEqual(
            (thrown.cause as HttpResilience.HttpResilienceConfigError)._tag,
            "HttpResilienceConfigError"
          )
          assert.include((thrown.cause as Error).message, message)
          const exit = yield* Effect.exit(
            Effect.provide(
              HttpClient.HttpClient.use(Effect.succeed),
              HttpResilience.layer(Api, bad).pipe(
                Layer.provide(CircuitBreaker.layer(Api)),
                Layer.provide(Layer.succeed(HttpClient.HttpClient, memory))
              )
            )
          )
          assert.isTrue(Exit.hasDies(exit))
        })
      )
    }
  })

  it.effect("protect is data-first too", () =>
    run(
      Effect.gen(function* () {
        const api = yield* server()
        const cb = yield* breaker()
        const client = HttpResilience.protect(yield* HttpClient.HttpClient, cb)
        assert.strictEqual(yield* status(client.get(`${api.url}/`)), 200)
        assert.strictEqual((yield* cb.stats(circuitOf(api))).successes, 1)
      })
    )
  )

  describe("layer", () => {
    it.effect("decorates the HttpClient service: every user is protected, a rejection sends nothing", () =>
      Effect.gen(function* () {
        const api = yield* server({ "/boom": reply(500) })
        const Live = HttpResilience.layer(Api).pipe(
          Layer.provideMerge(CircuitBreaker.layer(Api, HttpResilience.breakerOptions({ failureThreshold: 1 }))),
          Layer.provide(NodeHttpClient.layerNodeHttp)
        )
        const exit = yield* Effect.gen(function* () {
          yield* HttpClient.get(`${api.url}/boom`)
          return yield* Effect.flip(HttpClient.get(`${api.url}/boom`))
        }).pipe(Effect.provide(Live), Effect.exit)
        assert.isTrue(Exit.isSuccess(exit))
        const error = (exit as Exit.Success<HttpClientError.HttpClientError>).value
        assert.strictEqual(error.reason._tag, "TransportError")
        const rejection = HttpResilience.circuitOpenError(error)
        assert.strictEqual(rejection?.id, circuitOf(api))
        assert.strictEqual(api.hitsOf("/boom"), 1)
      }).pipe(Effect.scoped)
    )
  })
})
