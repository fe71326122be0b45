// A Server-Sent Events client over real HTTP (fetch + Effect's SSE parser) for the dashboard suites: it keeps every
// event in order and hands them out one by one.
import { Effect, type Scope } from "effect"
import { Sse } from "effect/encoding"

export interface SseEvent {
  readonly event: string
  readonly data: any
}

export interface SseClient {
  readonly status: number
  readonly contentType: string | null
  /** The next event, waiting at most `timeoutMillis` of real time for it. */
  readonly next: (timeoutMillis?: number) => Effect.Effect<SseEvent>
  /** Events received and not yet taken. */
  readonly pending: () => number
}

export const connectSse = (url: string, init?: RequestInit): Effect.Effect<SseClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const controller = new AbortController()
      const response = await fetch(url, { ...init, signal: controller.signal })
      const received: Array<SseEvent> = []
      let wake: (() => void) | undefined
      const parser = Sse.makeParser((event) => {
        if (event._tag !== "Event") return
        received.push({ event: event.event, data: JSON.parse(event.data) })
        wake?.()
      })
      const pump = async () => {
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          parser.feed(decoder.decode(value, { stream: true }))
        }
      }
      pump().catch(() => {})
      const next = (timeoutMillis = 5000) =>
        Effect.promise(
          () =>
            new Promise<SseEvent>((resolve, reject) => {
              const timer = setTimeout(
                () => reject(new Error(`no SSE event within ${timeoutMillis} ms`)),
                timeoutMillis
              )
              const take = () => {
                const event = received.shift()
                if (event === undefined) {
                  wake = take
                  return
                }
                wake = undefined
                clearTimeout(timer)
                resolve(event)
              }
              take()
            })
        )
      const client: SseClient = {
        status: response.status,
        contentType: response.headers.get("content-type"),
        next,
        pending: () => received.length
      }
      return { client, controller }
    }),
    ({ controller }) => Effect.sync(() => controller.abort())
  ).pipe(Effect.map(({ client }) => client))
