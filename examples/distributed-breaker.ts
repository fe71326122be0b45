// Two worker processes behind one circuit, shared through Redis (CircuitBreaker.layerRedis). Worker A's dependency
// starts failing; its failures open the shared circuit, and worker B, whose own dependency is fine, switches to the
// fallback too, without calling its primary. Starts its own redis-server on a free loopback port (skips, exit 0,
// when redis-server is not installed). Run: node examples/distributed-breaker.ts
import { spawn } from "node:child_process"
import { installHint, isRedisServerAvailable, startRedisServer } from "../test/support/redisServer.ts"

if (!isRedisServerAvailable()) {
  console.log(`skipped: ${installHint}`)
  process.exit(0)
}

interface Worker {
  readonly ask: (command: string) => Promise<Record<string, unknown>>
  readonly stop: () => void
}

const startWorker = (url: string, prefix: string): Promise<Worker> =>
  new Promise((resolve, reject) => {
    const script = new URL("./_distributed-worker.ts", import.meta.url).pathname
    const child = spawn(process.execPath, [...process.execArgv, script, url, prefix], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const waiting: Array<(line: string) => void> = []
    let buffer = ""
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8")
      for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        waiting.shift()?.(line)
      }
    })
    child.once("exit", (code) => {
      for (const resume of waiting.splice(0)) resume(JSON.stringify({ exited: code }))
    })
    const ask = (command: string) =>
      new Promise<Record<string, unknown>>((answer) => {
        waiting.push((line) => answer(JSON.parse(line) as Record<string, unknown>))
        child.stdin.write(`${command}\n`)
      })
    waiting.push((line) => {
      if ((JSON.parse(line) as { ready?: boolean }).ready === true) resolve({ ask, stop: () => child.kill("SIGKILL") })
      else reject(new Error(`worker did not start: ${line}`))
    })
  })

const check = (condition: boolean, message: string) => {
  if (!condition) {
    console.error(`FAILED: ${message}`)
    process.exitCode = 1
    throw new Error(message)
  }
}

const server = await startRedisServer()
const workers: Array<Worker> = []
try {
  const prefix = `example-${process.pid}:`
  const [a, b] = await Promise.all([startWorker(server.url, prefix), startWorker(server.url, prefix)])
  workers.push(a, b)

  console.log("worker A:", await a.ask("request"))
  console.log("worker B:", await b.ask("request"))

  console.log("\nworker A's dependency goes down")
  await a.ask("break")
  for (let i = 1; i <= 3; i++) {
    const reply = await a.ask("request")
    console.log(`worker A request ${i}:`, reply.source)
    check(reply.source === "fallback", "worker A falls back while its dependency fails")
  }
  check((await a.ask("state")).state === "Open", "three failures open the circuit in worker A")

  // The trip reaches worker B through Redis pub/sub within about flushInterval (100 ms) + pub/sub latency.
  const started = Date.now()
  let state = (await b.ask("state")).state
  while (state !== "Open" && Date.now() - started < 2_000) state = (await b.ask("state")).state
  console.log(`\nworker B sees the circuit ${state} after ${Date.now() - started} ms`)
  check(state === "Open", "worker B sees the shared circuit open")

  const reply = await b.ask("request")
  console.log("worker B (its own dependency is healthy):", reply)
  check(reply.source === "fallback", "worker B switches to the fallback without calling its primary")
  console.log("\nboth workers serve the fallback until the circuit lets a trial through")
} finally {
  for (const worker of workers) worker.stop()
  await server.stop()
}
