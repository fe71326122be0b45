// Sagas on Effect's durable engine (ClusterWorkflowEngine on one runner, storage in a real PostgreSQL started on a
// free loopback port): results survive encoding, and an execution killed with SIGKILL is finished by another
// process, running no completed step again, and never going forward once it compensates.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Data, Effect, Layer, Option, References, Schedule, Schema } from "effect"
import { Saga } from "effect-fallback"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { installHint, isPostgresAvailable, type PostgresServer, startPostgresServer } from "./support/postgresServer.ts"
import { postgresEngine } from "./support/sagaPostgres.ts"

const available = isPostgresAvailable()
if (!available) console.warn(`[Saga.postgres] skipped: ${installHint}`)

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly provider: string }> {}
class Declined extends Data.TaggedError("Declined")<{ readonly reason: string }> {}

const Order = Schema.Struct({ id: Schema.String, trail: Schema.Array(Schema.String) })
type Order = typeof Order.Type

const workerScript = new URL("./support/sagaWorker.ts", import.meta.url).pathname

interface WorkerRun {
  readonly exit: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>
  readonly kill: () => void
}

const startWorker = (args: ReadonlyArray<string>, blockAt?: string): WorkerRun => {
  const child = spawn(process.execPath, ["--conditions=@effect-fallback/source", workerScript, ...args], {
    env: { ...process.env, SAGA_BLOCK_AT: blockAt ?? "" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
  return {
    exit: new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr }))),
    kill: () => child.kill("SIGKILL")
  }
}

const waitForJournal = async (file: string, entries: ReadonlyArray<string>, run: WorkerRun) => {
  let exited = false
  void run.exit.then(() => (exited = true))
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline && !exited) {
    const journal = readFileSync(file, "utf8")
    if (entries.every((entry) => journal.includes(entry))) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`the worker never reached ${entries.join(", ")}: ${JSON.stringify(await run.exit)}`)
}

describe.runIf(available)("Saga on PostgreSQL", () => {
  let server: PostgresServer
  beforeAll(async () => {
    server = await startPostgresServer()
  }, 60_000)
  afterAll(() => {
    server?.stop()
  })

  it.live(
    "stores results, step errors and compensation failures in encoded form, and reports them by execution id",
    () => {
      const ran: Array<string> = []
      const saga = Saga.make("DurableOrder", {
        context: Order,
        steps: (step) => [
          step("Reserve", {
            act: (order) => Effect.sync(() => (ran.push("Reserve"), { ...order, trail: [...order.trail, "Reserve"] })),
            compensate: () => Effect.sync(() => ran.push("compensate:Reserve"))
          }),
          step("Charge", {
            act: (): Effect.Effect<Order, ConnectionError> =>
              Effect.suspend(() => (ran.push("Charge"), Effect.fail(new ConnectionError({ provider: "primary" }))))
          }).pipe(
            Saga.withFallback(
              step("ChargeBackup", {
                act: (order) =>
                  Effect.sync(() => (ran.push("ChargeBackup"), { ...order, trail: [...order.trail, "ChargeBackup"] })),
                compensate: (order) =>
                  order.id === "stuck" ? Effect.fail(new Declined({ reason: "refund refused" })) : Effect.void
              }),
              { on: ["ConnectionError"] }
            )
          ),
          step("Ship", {
            act: (order): Effect.Effect<Order, Declined> =>
              order.id === "ok"
                ? Effect.succeed({ ...order, trail: [...order.trail, "Ship"] })
                : Effect.fail(new Declined({ reason: "no carrier" }))
          })
        ],
        compensationRetry: Schedule.recurs(1)
      })
      const url = server.createDatabase("saga_inprocess")
      return Effect.gen(function* () {
        const ok = yield* Saga.run(saga, { id: "ok", trail: [] }, { executionId: "ok" })
        expect(ok).toEqual({
          _tag: "Completed",
          executionId: "ok",
          context: { id: "ok", trail: ["Reserve", "ChargeBackup", "Ship"] },
          steps: ["Reserve", "ChargeBackup", "Ship"]
        })
        const stuck = yield* Saga.run(saga, { id: "stuck", trail: [] }, { executionId: "stuck" })
        expect(stuck).toEqual({
          _tag: "CompensationFailed",
          executionId: "stuck",
          step: "Ship",
          error: { tag: "Declined", message: '{"reason":"no carrier"}', defect: false },
          context: { id: "stuck", trail: ["Reserve", "ChargeBackup"] },
          steps: ["Reserve", "ChargeBackup"],
          compensated: ["Reserve"],
          failedCompensations: [
            {
              step: "ChargeBackup",
              error: { tag: "Declined", message: '{"reason":"refund refused"}', defect: false },
              attempts: 2
            }
          ]
        })
        expect(yield* Saga.status(saga, "stuck")).toEqual(Option.some(stuck))
        expect(yield* Saga.status(saga, "never-ran")).toEqual(Option.none())
        ran.length = 0
        expect(yield* Saga.run(saga, { id: "ok", trail: [] }, { executionId: "ok" })).toEqual(ok)
        expect(ran).toEqual([])
      }).pipe(
        Effect.provide(Saga.layer(saga).pipe(Layer.provideMerge(postgresEngine(url)))),
        Effect.provideService(References.MinimumLogLevel, "None")
      )
    },
    60_000
  )

  it("a process killed in a step or in a compensation is finished by the next process on the same database", async () => {
    const url = server.createDatabase("saga_crash")
    const journalFile = join(mkdtempSync(join(tmpdir(), "saga-journal-")), "journal.txt")
    writeFileSync(journalFile, "")

    // First process: CrashForward is killed inside act:B; CrashBackward (C fails) inside the compensation of B.
    const first = startWorker([url, "run", "crash", journalFile], "CrashForward act:B,CrashBackward compensate:B")
    await waitForJournal(journalFile, ["CrashForward act:B:start", "CrashBackward compensate:B:start"], first)
    first.kill()
    await first.exit

    // Second process: builds the same layers on the same database and waits; nothing calls run again.
    const second = startWorker([url, "recover", "crash", journalFile])
    const { code, stderr, stdout } = await second.exit
    expect(code, stderr).toBe(0)
    const output = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      readonly forward: Saga.Result<Order>
      readonly backward: Saga.Result<Order>
      readonly recoveredAfterMillis: number
    }
    expect(output.forward).toMatchObject({ _tag: "Completed", context: { trail: ["A", "B", "C"] } })
    expect(output.backward).toMatchObject({
      _tag: "SagaFailed",
      step: "C",
      steps: ["A", "B"],
      compensated: ["B", "A"]
    })

    // The journal, with pids replaced by which process wrote the line.
    const lines = readFileSync(journalFile, "utf8").trim().split("\n")
    const firstPid = lines[0]!.split(" ").at(-1)
    const journal = lines.map((line) => {
      const [saga, entry, pid] = line.split(" ")
      return `${saga} ${entry} ${pid === firstPid ? "first" : "second"}`
    })
    const of = (saga: string) =>
      journal.filter((line) => line.startsWith(saga)).map((line) => line.slice(saga.length + 1))
    // A completed before the kill and never ran again; B, interrupted, ran again (at least once); C ran once.
    expect(of("CrashForward")).toEqual([
      "act:A:start first",
      "act:A:done first",
      "act:B:start first",
      "act:B:start second",
      "act:B:done second",
      "act:C:start second",
      "act:C:done second"
    ])
    // Killed while compensating B: the second process compensates B again, then A, and never runs an act.
    const backward = of("CrashBackward")
    expect(backward.filter((line) => line.endsWith("second"))).toEqual([
      "compensate:B:start second",
      "compensate:B:done second",
      "compensate:A:start second",
      "compensate:A:done second"
    ])
    expect(backward.filter((line) => line.startsWith("act:")).every((line) => line.endsWith("first"))).toBe(true)
    console.log(`[Saga.postgres] recovered after ${output.recoveredAfterMillis} ms from the layer being built`)
  }, 120_000)
})
