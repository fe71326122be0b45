/**
 * The dashboard's routes: the page, the Server-Sent Events stream, and the POST-only manual controls.
 */
import { Cause, Clock, Context, Effect, Layer, PubSub, Stream } from "effect"
import { Sse } from "effect/encoding"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { CircuitBreaker, Mode } from "../CircuitBreaker.ts"
import type { Options } from "../Dashboard.ts"
import { type Config, type DashboardConfigError, validate } from "./dashboardOptions.ts"
import * as Hub from "./dashboardHub.ts"
import { viewOf } from "./dashboardModel.ts"
import { page } from "./dashboardPage.ts"

/** How long a browser waits before reconnecting a dropped event stream. */
const RECONNECT_MILLIS = 1000

const PAGE_HEADERS = {
  "cache-control": "no-store",
  // Everything the page needs is inline; it may only talk back to the server that served it.
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff"
}

const STREAM_HEADERS = { "cache-control": "no-store", "x-accel-buffering": "no" }

const event = (name: string, data: unknown): string =>
  Sse.encoder.write({ _tag: "Event", event: name, id: undefined, data: JSON.stringify(data) })

/** @internal */
export const layer = <Keys extends ReadonlyArray<Context.Key<any, CircuitBreaker>>>(
  keys: Keys,
  options: Options = {}
): Layer.Layer<
  never,
  DashboardConfigError,
  HttpRouter.HttpRouter | (Keys[number] extends Context.Key<infer I, any> ? I : never)
> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const breakers = yield* Effect.forEach(keys, (key) => Effect.service(key))
      const config = yield* validate(breakers, options)
      const hub = yield* Hub.make(breakers, config)
      const router = yield* HttpRouter.HttpRouter
      const html = page(config.path)
      yield* router.add(
        "GET",
        config.path,
        HttpServerResponse.html(html).pipe(HttpServerResponse.setHeaders(PAGE_HEADERS))
      )
      yield* router.add("GET", `${config.path}/events`, (request) => events(hub, config, request))
      yield* router.add("*", `${config.path}/control`, (request) => control(hub, config, request))
    })
  )

/** Whether the application's `authorize` admits the request; a failing or throwing check refuses it. */
const authorized = (config: Config, request: HttpServerRequest.HttpServerRequest): Effect.Effect<boolean> => {
  const authorize = config.authorize
  if (authorize === undefined) return Effect.succeed(false)
  return Effect.suspend(() => authorize(request)).pipe(
    Effect.map((ok) => ok === true),
    Effect.catchCause((cause) =>
      Effect.as(Effect.logWarning("dashboard: authorize failed; the request is refused", Cause.pretty(cause)), false)
    )
  )
}

const events = (hub: Hub.Hub, config: Config, request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(authorized(config, request), (controls) => {
    const body = Stream.unwrap(
      Effect.gen(function* () {
        // Subscribe before the snapshot, so the first tick received is the one after it.
        const subscription = yield* PubSub.subscribe(hub.ticks)
        const snapshot = hub.snapshot(controls, yield* Clock.currentTimeMillis)
        const first = `retry: ${RECONNECT_MILLIS}\n\n${event("snapshot", snapshot)}`
        return Stream.concat(Stream.succeed(first), Stream.map(Stream.fromSubscription(subscription), encodeTick))
      })
    )
    return HttpServerResponse.stream(Stream.encodeText(body), {
      contentType: "text/event-stream",
      headers: STREAM_HEADERS
    })
  })

// One encoding per tick, shared by every connection.
const encoded = new WeakMap<Hub.TickMessage, string>()
const encodeTick = (tick: Hub.TickMessage): string => {
  let text = encoded.get(tick)
  if (text === undefined) {
    text = event("tick", tick)
    encoded.set(tick, text)
  }
  return text
}

const ACTIONS = ["open", "close", "reset", "setMode"] as const
const MODES: ReadonlyArray<Mode> = ["normal", "disabled", "metricsOnly"]

const refuse = (status: number, error: string, headers?: Record<string, string>) =>
  HttpServerResponse.jsonUnsafe({ error }, { status, headers: { "cache-control": "no-store", ...headers } })

/** A browser sends `Origin` on a cross-site POST: it must name this server. */
const sameOrigin = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const origin = request.headers["origin"]
  if (origin === undefined) return true
  try {
    return new URL(origin).host === request.headers["host"]
  } catch {
    return false
  }
}

const control = (hub: Hub.Hub, config: Config, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    if (request.method !== "POST") return refuse(405, "controls take POST", { allow: "POST" })
    if (config.authorize === undefined)
      return refuse(403, "controls are disabled: the dashboard has no authorize check")
    if (!(yield* authorized(config, request))) return refuse(403, "not authorized")
    if (!sameOrigin(request)) return refuse(403, "cross-origin request refused")
    const contentType = request.headers["content-type"] ?? ""
    if (!contentType.startsWith("application/json")) return refuse(415, "send a JSON body (application/json)")
    const body = yield* Effect.orElseSucceed(request.json, () => undefined)
    const command = parseCommand(body)
    if (typeof command === "string") return refuse(400, command)
    const breaker = yield* hub.breakerOf(command.domain, command.id)
    if (breaker === undefined) {
      return refuse(404, `no circuit ${JSON.stringify(command.id)} in domain ${JSON.stringify(command.domain)}`)
    }
    yield* command.action === "setMode"
      ? breaker.setMode(command.id, command.mode)
      : breaker[command.action](command.id)
    const stats = yield* breaker.stats(command.id)
    return HttpServerResponse.jsonUnsafe(
      { ok: true, circuit: viewOf(stats) },
      { headers: { "cache-control": "no-store" } }
    )
  })

type Command =
  | { readonly domain: string; readonly id: string; readonly action: "open" | "close" | "reset" }
  | { readonly domain: string; readonly id: string; readonly action: "setMode"; readonly mode: Mode }

/** The command in a control request, or what is wrong with it. */
const parseCommand = (body: unknown): Command | string => {
  if (typeof body !== "object" || body === null) return "the body must be a JSON object"
  const { action, domain, id, mode } = body as Record<string, unknown>
  if (typeof domain !== "string" || typeof id !== "string") return "domain and id must be strings"
  if (!ACTIONS.includes(action as (typeof ACTIONS)[number])) return `action must be one of ${ACTIONS.join(", ")}`
  if (action !== "setMode") return { domain, id, action: action as "open" | "close" | "reset" }
  if (!MODES.includes(mode as Mode)) return `mode must be one of ${MODES.join(", ")}`
  return { domain, id, action, mode: mode as Mode }
}
