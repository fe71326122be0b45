// A real `redis-server` for the Redis suites, the distributed example and the Redis benchmark: started on a free
// loopback port, without persistence, and stopped when done. Never a system instance.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { Socket } from "node:net"
import { freePort } from "./freePort.ts"

/** The `redis-server` binary: `$REDIS_SERVER`, or the one on the PATH. */
export const redisServerBinary = process.env.REDIS_SERVER ?? "redis-server"

/** Whether `redis-server` can be run on this machine. */
export const isRedisServerAvailable = (): boolean => {
  const probe = spawnSync(redisServerBinary, ["--version"], { encoding: "utf8" })
  return probe.error === undefined && probe.status === 0
}

/** What to tell someone whose machine has no `redis-server`. */
export const installHint =
  "redis-server not found: install it with `apt-get update && apt-get install -y redis-server` " +
  "(or set REDIS_SERVER to its path) to run the Redis-backed breaker suites"

/** Resolves true once the server answers PING on `port`. */
const ping = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = new Socket()
    let reply = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("error", () => done(false))
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8")
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"))
    })
    socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"))
  })

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Kills the server at once (SIGKILL): connections drop and, without persistence, every key is lost. */
  readonly kill: () => Promise<void>
  /** Starts the server again on the same port (after `kill`). */
  readonly restart: () => Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  readonly pause: () => void
  readonly resume: () => void
  /** Stops the server for good. */
  readonly stop: () => Promise<void>
}

/** Starts a `redis-server` on a free port of 127.0.0.1 and waits until it answers. */
export const startRedisServer = async (): Promise<RedisServer> => {
  const port = await freePort()
  let child: ChildProcess | undefined

  const launch = async (): Promise<void> => {
    const started = spawn(
      redisServerBinary,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
      { stdio: "ignore" }
    )
    child = started
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (started.exitCode !== null) {
        throw new Error(`redis-server exited with code ${started.exitCode} on port ${port}`)
      }
      if (await ping(port)) return
      await sleep(20)
    }
    started.kill("SIGKILL")
    throw new Error(`redis-server did not answer on port ${port} within 10 s`)
  }

  const kill = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()))
    running.kill("SIGCONT")
    running.kill("SIGKILL")
    await exited
  }

  // A server left behind by a crashed test run would hold the port: kill it with this process.
  const onExit = () => child?.kill("SIGKILL")
  process.once("exit", onExit)

  await launch()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    pause: () => {
      child?.kill("SIGSTOP")
    },
    resume: () => {
      child?.kill("SIGCONT")
    },
    stop: async () => {
      process.removeListener("exit", onExit)
      await kill()
    }
  }
}
