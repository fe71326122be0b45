// A real node:http server on 127.0.0.1 (a free port) for the HTTP suites, examples' tests and benchmarks: it answers
// with a handler the test can swap, counts the requests it received, and closes every connection when released.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export type Handler = (request: IncomingMessage, response: ServerResponse) => void

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Requests received, by path (without query). */
  readonly hits: Map<string, number>
  readonly hitsOf: (path: string) => number
  /** Replaces the handler (requests in progress keep theirs). */
  handle: Handler
}

export const startServer = (
  handle: Handler
): Promise<{ readonly server: TestServer; readonly close: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const hits = new Map<string, number>()
    const state: TestServer = {
      url: "",
      port: 0,
      hits,
      hitsOf: (path) => hits.get(path) ?? 0,
      handle
    }
    const server: Server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0]!
      hits.set(path, (hits.get(path) ?? 0) + 1)
      state.handle(request, response)
    })
    server.keepAliveTimeout = 60_000
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      Object.assign(state, { url: `http://127.0.0.1:${port}`, port })
      resolve({
        server: state,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

/** The server as a scoped resource. */
export const testServer = (handle: Handler): Effect.Effect<TestServer, never, import("effect").Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startServer(handle)),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ server }) => server))

/** A port on 127.0.0.1 nothing listens on (a server was bound to it and closed). */
export const closedPort: Effect.Effect<number> = Effect.promise(async () => {
  const { server, close } = await startServer(() => {})
  await close()
  return server.port
})

/** Answers `status` with `headers` and a short body. */
export const reply =
  (status: number, headers: Record<string, string> = {}): Handler =>
  (_request, response) => {
    response.writeHead(status, { "content-type": "text/plain", ...headers })
    response.end(`status ${status}`)
  }
