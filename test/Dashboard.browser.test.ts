// The dashboard in a real browser: Debian's chromium driven by playwright-core, against a real server on 127.0.0.1.
// The clock is real here (the browser's is), so the breaker uses a short resetTimeout and the page samples every
// 250 ms; the page is awaited with playwright's polling waits, never with sleeps. Skipped when chromium is missing.
import { NodeHttpServer } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Data, Effect, Layer, Logger, ManagedRuntime } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { CircuitBreaker, Dashboard } from "effect-fallback"
import { createServer } from "node:http"
import type { Page } from "playwright-core"
import { type Chromium, chromiumHint, isChromiumAvailable, launchChromium } from "./support/chromium.ts"

const available = isChromiumAvailable()
if (!available) console.warn(`[Dashboard.browser] skipped: ${chromiumHint}`)

class Boom extends Data.TaggedError("Boom")<{}> {}
class Shop extends CircuitBreaker.Service<Shop>()("test/Shop") {}

const TOKEN = "ops-secret"

const startServer = async (port: number) => {
  const nodeServer = createServer()
  const layer = HttpRouter.serve(
    Dashboard.layer([Shop], {
      sampleInterval: "250 millis",
      authorize: (request) => Effect.succeed(request.cookies["ops"] === TOKEN)
    }),
    { disableListenLog: true, disableLogger: true }
  ).pipe(
    Layer.provideMerge(CircuitBreaker.layer(Shop, { failureThreshold: 2, resetTimeout: "1500 millis" })),
    Layer.provideMerge(
      NodeHttpServer.layer(() => nodeServer, { port, host: "127.0.0.1", disablePreemptiveShutdown: true })
    ),
    Layer.provideMerge(Logger.layer([]))
  )
  const runtime = ManagedRuntime.make(layer)
  const { breaker, boundPort } = await runtime.runPromise(
    Effect.gen(function* () {
      const server = yield* HttpServer.HttpServer
      return { breaker: yield* Shop, boundPort: (server.address as { readonly port: number }).port }
    })
  )
  const run = <A, E>(effect: Effect.Effect<A, E>) => runtime.runPromise(Effect.exit(effect))
  // Stopping drops every connection at once, as a crashing or redeployed server would (no keep-alive wait).
  const stop = async () => {
    const disposed = runtime.dispose()
    nodeServer.closeAllConnections()
    await disposed
  }
  return { port: boundPort, breaker, run, stop }
}

const tile = (page: Page, id: string, state?: string) =>
  page.locator(`article.tile[data-id="${id}"]${state === undefined ? "" : `[data-state="${state}"]`}`)

const secondsLeft = async (page: Page, id: string): Promise<number> => {
  const text = (await tile(page, id).locator(".retry").textContent()) ?? ""
  const match = /retry in ([\d.]+) s/.exec(text)
  return match === null ? Number.NaN : Number(match[1])
}

describe.skipIf(!available)("Dashboard in chromium", () => {
  let browser: Chromium
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it("shows a circuit open, count down, go HalfOpen and close, and keeps its stream across a server restart", async () => {
    let server = await startServer(0)
    const port = server.port
    const base = `http://127.0.0.1:${port}/circuits`
    const page = await browser.context.newPage()
    const errors: Array<string> = []
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text())
    })
    page.on("pageerror", (error) => errors.push(String(error)))
    try {
      await server.run(Effect.succeed("ok").pipe(server.breaker.protect("Pay")))
      await page.goto(base)
      await tile(page, "Pay", "Closed").waitFor({ timeout: 5000 })
      assert.strictEqual(await page.locator("#status").getAttribute("data-status"), "live")

      // Trip the circuit from the server side.
      for (let i = 0; i < 2; i++) await server.run(Effect.fail(new Boom()).pipe(server.breaker.protect("Pay")))
      await tile(page, "Pay", "Open").waitFor({ timeout: 3000 })
      const first = await secondsLeft(page, "Pay")
      assert.isAbove(first, 0)
      assert.isAtMost(first, 1.5)
      await page.waitForFunction(
        ([id, seconds]) => {
          const text = document.querySelector(`article.tile[data-id="${id}"] .retry`)?.textContent ?? ""
          const match = /retry in ([\d.]+) s/.exec(text)
          return match !== null && Number(match[1]) < Number(seconds) - 0.25
        },
        ["Pay", String(first)],
        { timeout: 3000 }
      )
      await tile(page, "Pay", "HalfOpen").waitFor({ timeout: 4000 })
      await server.run(Effect.succeed("ok").pipe(server.breaker.protect("Pay")))
      await tile(page, "Pay", "Closed").waitFor({ timeout: 3000 })
      const transitions = await page.locator("#transitions li").allTextContents()
      assert.deepStrictEqual(
        transitions.slice(0, 3).map((line) => line.replace(/^\d\d:\d\d:\d\d/, "")),
        [
          "test/Shop / Pay HalfOpen → Closed (trialSucceeded)",
          "test/Shop / Pay Open → HalfOpen (resetTimeout)",
          "test/Shop / Pay Closed → Open (failureThreshold)"
        ]
      )
      assert.deepStrictEqual(errors, [])

      // Restart the server on the same port: the page reconnects by itself and shows the new server's circuits.
      await server.stop()
      await page.locator('#status[data-status="reconnecting"]').waitFor({ timeout: 5000 })
      server = await startServer(port)
      await server.run(Effect.succeed("ok").pipe(server.breaker.protect("AfterRestart")))
      await tile(page, "AfterRestart", "Closed").waitFor({ timeout: 10_000 })
      await page.locator('#status[data-status="live"]').waitFor({ timeout: 3000 })
      assert.strictEqual(await tile(page, "Pay").count(), 0) // the new server's snapshot replaced the old tiles
      // The browser logs the stream cut by the stopping server and its refused reconnection attempts, nothing else.
      assert.deepStrictEqual(
        errors.filter(
          (error) => !/net::ERR_(INCOMPLETE_CHUNKED_ENCODING|CONNECTION_REFUSED|EMPTY_RESPONSE)/.test(error)
        ),
        []
      )
    } finally {
      await page.close()
      await server.stop()
    }
  })

  it("offers no control without authorization, refuses the POST, applies a control with it, and filters", async () => {
    const server = await startServer(0)
    const base = `http://127.0.0.1:${server.port}/circuits`
    const page = await browser.context.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(String(error)))
    try {
      await server.run(Effect.succeed("ok").pipe(server.breaker.protect("Pay")))
      await page.goto(base)
      await tile(page, "Pay", "Closed").waitFor({ timeout: 5000 })
      assert.strictEqual(await tile(page, "Pay").locator("button").count(), 0)
      const refused = await page.evaluate(async (url) => {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ domain: "test/Shop", id: "Pay", action: "open" })
        })
        return response.status
      }, `${base}/control`)
      assert.strictEqual(refused, 403)
      const get = await page.evaluate(async (url) => (await fetch(url)).status, `${base}/control`)
      assert.strictEqual(get, 405)
      assert.strictEqual(await server.run(server.breaker.state("Pay")).then((exit) => exit._tag), "Success")

      await browser.context.addCookies([{ name: "ops", value: TOKEN, url: `http://127.0.0.1:${server.port}` }])
      await page.reload()
      await tile(page, "Pay", "Closed").locator('button[data-action="open"]').click({ timeout: 5000 })
      await tile(page, "Pay", "Open").waitFor({ timeout: 3000 })
      assert.strictEqual(await tile(page, "Pay").locator(".retry").textContent(), "held open until closed")
      await tile(page, "Pay").locator('button[data-action="close"]').click()
      await tile(page, "Pay", "Closed").waitFor({ timeout: 3000 })

      // The filters hide tiles by state and sections by domain.
      await page.locator('input[data-state-filter="Closed"]').uncheck()
      await tile(page, "Pay").waitFor({ state: "hidden", timeout: 2000 })
      await page.locator('input[data-state-filter="Closed"]').check()
      await tile(page, "Pay").waitFor({ state: "visible", timeout: 2000 })
      await page.locator("#domain-filter").selectOption("test/Shop")
      assert.isTrue(await tile(page, "Pay").isVisible())
      await page.evaluate(() => {
        const select = document.getElementById("domain-filter") as HTMLSelectElement
        select.append(new Option("other/Domain", "other/Domain"))
        select.value = "other/Domain"
        select.dispatchEvent(new Event("change"))
      })
      await tile(page, "Pay").waitFor({ state: "hidden", timeout: 2000 })
      assert.deepStrictEqual(errors, [])
    } finally {
      await browser.context.clearCookies()
      await page.close()
      await server.stop()
    }
  })
})
