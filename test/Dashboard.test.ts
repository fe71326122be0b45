// The dashboard's HTTP side, over real HTTP on 127.0.0.1 and without a browser: the page, the content of the
// Server-Sent Events stream (snapshot, sampling per interval, cardinality bounds) and the POST-only controls. Time is
// the TestClock's: the dashboard samples on the breakers' Clock, so a tick happens exactly when the test adjusts it.
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, Fiber, Layer, Logger } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Dashboard } from "effect-fallback"
import { createServer } from "node:http"
import { connectSse, type SseEvent } from "./support/sseClient.ts"

class Boom extends Data.TaggedError("Boom")<{}> {}
class Shop extends CircuitBreaker.Service<Shop>()("test/Shop") {}
class Users extends CircuitBreaker.Service<Users>()("test/Users") {}

const ok = Effect.succeed("ok")
const boom = Effect.fail(new Boom())

/** Circuits made before the dashboard is built: one Closed, one Open. */
const Early = Layer.effectDiscard(
  Effect.flatMap(Effect.service(Users), (users) => Effect.andThen(ok.pipe(users.protect("Early")), users.open("Held")))
)

const serve = (options: Dashboard.Options = {}, shop: CircuitBreaker.Options = {}) =>
  HttpRouter.serve(Dashboard.layer([Shop, Users], options).pipe(Layer.provide(Early)), {
    disableListenLog: true,
    disableLogger: true
  }).pipe(
    Layer.provideMerge(Layer.mergeAll(CircuitBreaker.layer(Shop, shop), CircuitBreaker.layer(Users))),
    Layer.provideMerge(
      NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1", disablePreemptiveShutdown: true })
    )
  )

/** Runs `body` with a dashboard served on a free loopback port, and the breakers' transition logs silenced. */
const withDashboard = <A, E, R>(
  body: (base: string) => Effect.Effect<A, E, R>,
  options: Dashboard.Options = {},
  shop: CircuitBreaker.Options = {}
) =>
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    const port = (server.address as { readonly port: number }).port
    return yield* body(`http://127.0.0.1:${port}/circuits`)
  }).pipe(Effect.provide(serve(options, shop)), Effect.provide(Logger.layer([])))

const request = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text.length > 0 ? JSON.parse(text) : undefined }
  })

const post = (base: string, command: unknown, headers: Record<string, string> = {}) =>
  request(`${base}/control`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(command)
  })

const tileOf = (event: SseEvent, id: string) =>
  (event.data.circuits as Array<{ readonly id: string }>).find((circuit) => circuit.id === id) as any

const failures = (breaker: CircuitBreaker.CircuitBreaker, id: string, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.exit(boom.pipe(breaker.protect(id))), { discard: true })

/** The Shop breaker, with a Closed circuit "Pay". */
const withPay = Effect.tap(Effect.service(Shop), (shop) => ok.pipe(shop.protect("Pay")))

const ids = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`)

/** Calls each of the circuits `c0`..`c<n-1>` once (a rejection included). */
const callAll = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.forEach(ids(n), (id) => Effect.exit(ok.pipe(breaker.protect(id))), { discard: true })

/** Creates `n` Shop circuits, opens `open` of them, lets one interval pass, then connects a page: its snapshot. */
const domainOf = (base: string, n: number, open: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const shop = yield* Shop
    yield* callAll(shop, n)
    yield* Effect.forEach(open, (id) => shop.open(id), { discard: true })
    yield* TestClock.adjust("1 second")
    const page = yield* connectSse(`${base}/events`)
    const snapshot = yield* page.next()
    const tiles: Array<any> = snapshot.data.circuits.filter((c: any) => c.domain === "test/Shop")
    return { shop, page, snapshot, tiles }
  })

describe("Dashboard", () => {
  describe("page", () => {
    it.effect("serves one self-contained HTML page under a strict Content-Security-Policy", () =>
      withDashboard((base) =>
        Effect.gen(function* () {
          const response = yield* Effect.promise(() => fetch(base))
          const html = yield* Effect.promise(() => response.text())
          assert.strictEqual(response.status, 200)
          assert.match(response.headers.get("content-type") ?? "", /^text\/html/)
          assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'.*connect-src 'self'/)
          assert.include(html, `data-base="/circuits"`)
          // Nothing is fetched from anywhere else: no src/href to another origin, no module import.
          assert.notMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i)
          assert.notMatch(html, /\bimport\s*\(/)
        })
      )
    )

    it.effect("is served under the configured path", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const response = yield* Effect.promise(() => fetch(base.replace("/circuits", "/ops/breakers")))
            assert.strictEqual(response.status, 200)
            assert.include(yield* Effect.promise(() => response.text()), `data-base="/ops/breakers"`)
          }),
        { path: "/ops/breakers" }
      )
    )
  })

  describe("event stream", () => {
    it.effect(
      "starts with a snapshot of every circuit, those made before the dashboard included, grouped by domain",
      () =>
        withDashboard((base) =>
          Effect.gen(function* () {
            const shop = yield* Shop
            yield* ok.pipe(shop.protect("GetPrice"))
            yield* TestClock.adjust("1 second")
            const page = yield* connectSse(`${base}/events`)
            assert.strictEqual(page.status, 200)
            assert.strictEqual(page.contentType, "text/event-stream")
            const snapshot = yield* page.next()
            assert.strictEqual(snapshot.event, "snapshot")
            assert.deepStrictEqual(
              snapshot.data.domains.map((d: any) => [d.domain, d.total]),
              [
                ["test/Shop", 1],
                ["test/Users", 2]
              ]
            )
            // Users' circuits were made before the dashboard was built; Shop's after.
            assert.deepStrictEqual(
              snapshot.data.circuits.map((c: any) => [c.domain, c.id, c.state]),
              [
                ["test/Shop", "GetPrice", "Closed"],
                ["test/Users", "Held", "Open"],
                ["test/Users", "Early", "Closed"]
              ]
            )
            assert.strictEqual(snapshot.data.controls, false)
            assert.strictEqual(snapshot.data.sampleMillis, 1000)
          })
        )
    )

    it.effect("samples a busy circuit: all its calls of one interval arrive as one tick with their counts", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const shop = yield* Shop
            const page = yield* connectSse(`${base}/events`)
            const snapshot = yield* page.next()
            yield* Effect.forEach(Array.from({ length: 400 }), () => ok.pipe(shop.protect("Busy")), { discard: true })
            yield* failures(shop, "Busy", 100)
            const slow = yield* Effect.forEach(Array.from({ length: 3 }), () =>
              Effect.forkChild(Effect.sleep("150 millis").pipe(shop.protect("Busy")))
            )
            yield* TestClock.adjust("150 millis")
            yield* Fiber.joinAll(slow)
            yield* shop.open("Shed")
            yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.exit(ok.pipe(shop.protect("Shed"))), {
              discard: true
            })
            yield* TestClock.adjust("850 millis")

            const tick = yield* page.next()
            assert.strictEqual(tick.event, "tick")
            assert.strictEqual(tick.data.seq, snapshot.data.seq + 1) // one message for the whole interval
            assert.deepStrictEqual(
              [...tick.data.samples].sort(),
              [
                ["test/Shop", "Busy", 503, 100, 3, 0],
                ["test/Shop", "Shed", 0, 0, 0, 50]
              ].sort()
            )
            assert.strictEqual(tileOf(tick, "Busy").successes, 403)
            assert.strictEqual(tileOf(tick, "Shed").state, "Open")

            yield* TestClock.adjust("1 second")
            const quiet = yield* page.next()
            assert.strictEqual(quiet.data.seq, tick.data.seq + 1)
            assert.deepStrictEqual(quiet.data.samples, []) // counts are per interval
          }),
        {},
        { failureThreshold: 1000, slowCall: { duration: "100 millis", rateThreshold: 1, minimumCalls: 1000 } }
      )
    )

    it.effect("counts a tile's calls per interval from its counts, from zero again after a reset", () =>
      withDashboard((base) =>
        Effect.gen(function* () {
          const shop = yield* withPay
          yield* TestClock.adjust("1 second")
          const page = yield* connectSse(`${base}/events`)
          yield* page.next()
          yield* Effect.forEach(Array.from({ length: 10 }), () => ok.pipe(shop.protect("Pay")), { discard: true })
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual((yield* page.next()).data.samples, [["test/Shop", "Pay", 10, 0, 0, 0]])
          yield* shop.reset("Pay")
          yield* Effect.forEach(Array.from({ length: 3 }), () => ok.pipe(shop.protect("Pay")), { discard: true })
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual((yield* page.next()).data.samples, [["test/Shop", "Pay", 3, 0, 0, 0]])
        })
      )
    )

    it.effect("sends each transition with its reason, and retryAfter while Open, then HalfOpen and Closed", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const shop = yield* Shop
            const page = yield* connectSse(`${base}/events`)
            yield* page.next()
            yield* failures(shop, "Pay", 3)
            yield* TestClock.adjust("1 second")
            const opened = yield* page.next()
            assert.deepStrictEqual(
              opened.data.transitions.map((t: any) => [t.id, t.from, t.to, t.reason]),
              [["Pay", "Closed", "Open", "failureThreshold"]]
            )
            assert.strictEqual(tileOf(opened, "Pay").state, "Open")
            assert.strictEqual(tileOf(opened, "Pay").retryAfterMillis, 4000)

            yield* TestClock.adjust("1 second")
            assert.strictEqual(tileOf(yield* page.next(), "Pay").retryAfterMillis, 3000)

            // Nothing calls the circuit: the dashboard's own read finds it HalfOpen once its timeout has passed.
            yield* TestClock.adjust("3 seconds")
            let halfOpen: SseEvent | undefined
            while (halfOpen === undefined) {
              const tick = yield* page.next()
              if (tileOf(tick, "Pay")?.state === "HalfOpen") halfOpen = tick
            }
            assert.strictEqual(tileOf(halfOpen, "Pay").retryAfterMillis, null)

            yield* ok.pipe(shop.protect("Pay"))
            yield* TestClock.adjust("1 second")
            const closed = yield* page.next()
            assert.strictEqual(tileOf(closed, "Pay").state, "Closed")
            const reasons = [...halfOpen.data.transitions, ...closed.data.transitions].map((t: any) => t.reason)
            assert.deepStrictEqual(reasons, ["resetTimeout", "trialSucceeded"])
          }),
        {},
        { failureThreshold: 3, resetTimeout: "5 seconds" }
      )
    )

    it.effect("shows the circuits of a large domain that are not Closed and a bounded number of Closed ones", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const { page, shop, snapshot, tiles } = yield* domainOf(base, 1000, ["c500", "c700", "c900"])
            assert.deepStrictEqual(
              tiles.filter((c: any) => c.state === "Open").map((c: any) => c.id),
              ["c500", "c700", "c900"]
            )
            assert.strictEqual(tiles.filter((c: any) => c.state === "Closed").length, 5)
            const domain = snapshot.data.domains.find((d: any) => d.domain === "test/Shop")
            assert.deepStrictEqual(domain, {
              domain: "test/Shop",
              total: 1000,
              states: { Closed: 997, Open: 3, HalfOpen: 0 },
              hidden: 992
            })

            // A busy interval over every circuit still sends the samples of the 8 tiles only.
            yield* callAll(shop, 1000)
            yield* TestClock.adjust("1 second")
            const tick = yield* page.next()
            assert.deepStrictEqual(tick.data.samples.map((s: any) => s[1]).sort(), tiles.map((c: any) => c.id).sort())
          }),
        { maxClosedPerDomain: 5 }
      )
    )

    it.effect("never shows more than maxTilesPerDomain tiles, the circuits not Closed first", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const { snapshot, tiles } = yield* domainOf(base, 10, ["c2", "c4", "c6", "c8", "c9"])
            assert.deepStrictEqual(
              tiles.map((c: any) => [c.id, c.state]),
              [
                ["c2", "Open"],
                ["c4", "Open"],
                ["c6", "Open"],
                ["c8", "Open"]
              ]
            )
            assert.strictEqual(snapshot.data.domains[0].hidden, 6)
          }),
        { maxTilesPerDomain: 4 }
      )
    )

    it.effect("removes the tile of a circuit that closes when the Closed tiles are taken", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const shop = yield* Shop
            yield* Effect.forEach(["a", "b", "c"], (id) => ok.pipe(shop.protect(id)), { discard: true })
            yield* shop.open("c")
            yield* TestClock.adjust("1 second")
            const page = yield* connectSse(`${base}/events`)
            const snapshot = yield* page.next()
            const shopTiles = snapshot.data.circuits.filter((c: any) => c.domain === "test/Shop")
            assert.deepStrictEqual(shopTiles.map((c: any) => c.id).sort(), ["a", "c"])
            yield* shop.close("c")
            yield* TestClock.adjust("1 second")
            const tick = yield* page.next()
            assert.deepStrictEqual(tick.data.removed, [["test/Shop", "c"]])
            assert.strictEqual(tick.data.domains[0].hidden, 2)
          }),
        { maxClosedPerDomain: 1 }
      )
    )
  })

  describe("controls", () => {
    it.effect("are refused with 403 when the dashboard has no authorize check, and change nothing", () =>
      withDashboard((base) =>
        Effect.gen(function* () {
          const shop = yield* withPay
          const refused = yield* post(base, { domain: "test/Shop", id: "Pay", action: "open" })
          assert.strictEqual(refused.status, 403)
          assert.match(refused.body.error, /no authorize check/)
          assert.strictEqual(yield* shop.state("Pay"), "Closed")
        })
      )
    )

    it.effect("take POST only: any other method is refused with 405", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const shop = yield* withPay
            const get = yield* request(`${base}/control?domain=test/Shop&id=Pay&action=open`)
            assert.strictEqual(get.status, 405)
            assert.strictEqual(get.headers.get("allow"), "POST")
            assert.strictEqual(yield* shop.state("Pay"), "Closed")
          }),
        { authorize: () => Effect.succeed(true) }
      )
    )

    it.effect("open, close, reset and setMode a circuit for a request that authorize admits", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const shop = yield* withPay
            const token = { "x-ops-token": "secret" }
            const opened = yield* post(base, { domain: "test/Shop", id: "Pay", action: "open" }, token)
            assert.strictEqual(opened.status, 200)
            assert.strictEqual(opened.body.circuit.state, "Open")
            assert.strictEqual(opened.body.circuit.retryAfterMillis, -1) // held open until closed
            assert.isTrue((yield* shop.stats("Pay")).forced)
            yield* post(base, { domain: "test/Shop", id: "Pay", action: "close" }, token)
            assert.strictEqual(yield* shop.state("Pay"), "Closed")
            const mode = yield* post(
              base,
              { domain: "test/Shop", id: "Pay", action: "setMode", mode: "disabled" },
              token
            )
            assert.strictEqual(mode.body.circuit.mode, "disabled")
            yield* post(base, { domain: "test/Shop", id: "Pay", action: "reset" }, token)
            assert.strictEqual((yield* shop.stats("Pay")).successes, 0)

            const refused = yield* post(base, { domain: "test/Shop", id: "Pay", action: "open" })
            assert.strictEqual(refused.status, 403)
            assert.strictEqual(yield* shop.state("Pay"), "Closed")
          }),
        { authorize: (request) => Effect.succeed(request.headers["x-ops-token"] === "secret") }
      )
    )

    it.effect("refuse a request whose authorize check fails, dies or throws", () =>
      Effect.gen(function* () {
        const checks: ReadonlyArray<Dashboard.Options["authorize"]> = [
          () => Effect.fail(new Boom()) as unknown as Effect.Effect<boolean>,
          () => Effect.die("bug"),
          () => {
            throw new Error("bug")
          }
        ]
        for (const authorize of checks) {
          yield* withDashboard(
            (base) =>
              Effect.gen(function* () {
                const shop = yield* withPay
                const refused = yield* post(base, { domain: "test/Shop", id: "Pay", action: "open" })
                assert.strictEqual(refused.status, 403)
                assert.strictEqual(yield* shop.state("Pay"), "Closed")
              }),
            { authorize }
          )
        }
      })
    )

    it.effect("refuse cross-origin, non-JSON, malformed and unknown-circuit requests even when authorized", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const shop = yield* withPay
            const open = { domain: "test/Shop", id: "Pay", action: "open" }
            assert.strictEqual((yield* post(base, open, { origin: "http://evil.example" })).status, 403)
            const form = yield* request(`${base}/control`, {
              method: "POST",
              headers: { "content-type": "application/x-www-form-urlencoded" },
              body: "domain=test/Shop&id=Pay&action=open"
            })
            assert.strictEqual(form.status, 415)
            assert.strictEqual((yield* post(base, { ...open, action: "explode" })).status, 400)
            assert.strictEqual((yield* post(base, { ...open, action: "setMode", mode: "off" })).status, 400)
            const unknown = yield* post(base, { ...open, id: "Nope" })
            assert.strictEqual(unknown.status, 404)
            assert.deepStrictEqual(
              (yield* shop.circuits).map((s) => s.id),
              ["Pay"]
            ) // no circuit was created
            assert.strictEqual(yield* shop.state("Pay"), "Closed")
          }),
        { authorize: () => Effect.succeed(true) }
      )
    )

    it.effect("are offered to a page only when authorize admits the page's own request", () =>
      withDashboard(
        (base) =>
          Effect.gen(function* () {
            const admitted = yield* connectSse(`${base}/events`, { headers: { cookie: "ops=1" } })
            assert.strictEqual((yield* admitted.next()).data.controls, true)
            const anonymous = yield* connectSse(`${base}/events`)
            assert.strictEqual((yield* anonymous.next()).data.controls, false)
          }),
        { authorize: (request) => Effect.succeed(request.cookies["ops"] === "1") }
      )
    )
  })

  describe("options", () => {
    const build = (options: Dashboard.Options, keys: ReadonlyArray<typeof Shop | typeof Users> = [Shop]) =>
      Layer.build(
        Dashboard.layer(keys, options).pipe(
          Layer.provide(Layer.mergeAll(CircuitBreaker.layer(Shop), CircuitBreaker.layer(Users))),
          Layer.provide(HttpRouter.layer)
        )
      ).pipe(Effect.scoped, Effect.flip)

    it.effect("a setting out of range fails the layer with a DashboardConfigError naming the field", () =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [Dashboard.Options, string]> = [
          [{ sampleInterval: "1 millis" }, "sampleInterval"],
          [{ sampleInterval: Number.NaN }, "sampleInterval"],
          [{ historySamples: 0 }, "historySamples"],
          [{ maxClosedPerDomain: 1.5 }, "maxClosedPerDomain"],
          [{ maxTilesPerDomain: 1e9 }, "maxTilesPerDomain"],
          [{ recentTransitions: -1 }, "recentTransitions"],
          [{ path: "circuits" as `/${string}` }, "path"],
          [{ path: "/a/../b" as `/${string}` }, "path"],
          [{ authorize: "yes" as never }, "authorize"]
        ]
        for (const [options, field] of cases) {
          const error = yield* build(options)
          assert.strictEqual(error._tag, "DashboardConfigError")
          assert.strictEqual(error.field, field)
          assert.include(error.message, field)
        }
      })
    )

    it.effect("no breaker, or two breakers of one domain, fail the layer", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* build({}, [])).field, "breakers")
        assert.strictEqual((yield* build({}, [Shop, Shop])).field, "breakers")
      })
    )
  })
})
