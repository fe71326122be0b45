// A child process of the saga crash-recovery tests. Usage:
//   node test/support/sagaWorker.ts <postgres url> <run|recover> <execution id prefix> <journal file>
// Two sagas with steps A, B, C: in CrashForward every step succeeds; in CrashBackward C fails, so B then A are
// compensated. Their executions are "<prefix>-forward" and "<prefix>-backward". Every act and compensate appends
// "<saga> <phase>:<step>:start|done <pid>" to the journal file; SAGA_BLOCK_AT="<saga> <phase>:<step>,..." names
// the ones that never finish (the parent kills the process there).
// `run` starts both executions and prints their results; `recover` only builds the engine layer (which resumes
// unfinished executions on its own, no call needed), polls the status of both until each has a result, and prints
// {"forward":..., "backward":..., "recoveredAfterMillis":...}, counted from the moment the layer was built.
import { appendFileSync } from "node:fs"
import { Data, Effect, Layer, Option, References, Schema } from "effect"
import { Saga } from "effect-fallback"
import { postgresEngine } from "./sagaPostgres.ts"

const [url, mode, prefix, journalFile] = process.argv.slice(2)
if (url === undefined || mode === undefined || prefix === undefined || journalFile === undefined) {
  console.error("usage: sagaWorker.ts <postgres url> <run|recover> <execution id prefix> <journal file>")
  process.exit(2)
}
const blocked = new Set((process.env.SAGA_BLOCK_AT ?? "").split(","))

class Declined extends Data.TaggedError("Declined")<{}> {}

const Trail = Schema.Struct({ id: Schema.String, trail: Schema.Array(Schema.String) })
type Trail = typeof Trail.Type

const journaled = <A, E>(entry: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    appendFileSync(journalFile, `${entry}:start ${process.pid}\n`)
    if (blocked.has(entry)) return Effect.never
    return Effect.tap(effect, () => Effect.sync(() => appendFileSync(journalFile, `${entry}:done ${process.pid}\n`)))
  })

const sagaFor = (name: "CrashForward" | "CrashBackward") =>
  Saga.make(name, {
    context: Trail,
    steps: (step) =>
      (["A", "B", "C"] as const).map((stepName) =>
        step(stepName, {
          act: (context: Trail) =>
            journaled(
              `${name} act:${stepName}`,
              name === "CrashBackward" && stepName === "C"
                ? Effect.fail(new Declined())
                : Effect.succeed({ ...context, trail: [...context.trail, stepName] })
            ),
          compensate: () => journaled(`${name} compensate:${stepName}`, Effect.void)
        })
      ) as unknown as readonly [Saga.Step<Trail>]
  })

const forward = sagaFor("CrashForward")
const backward = sagaFor("CrashBackward")
const ids = { forward: `${prefix}-forward`, backward: `${prefix}-backward` }

const Live = Layer.mergeAll(Saga.layer(forward), Saga.layer(backward)).pipe(Layer.provideMerge(postgresEngine(url)))

const run = Effect.all(
  {
    forward: Saga.run(forward, { id: ids.forward, trail: [] }, { executionId: ids.forward }),
    backward: Saga.run(backward, { id: ids.backward, trail: [] }, { executionId: ids.backward })
  },
  { concurrency: 2 }
)

const waitFor = <C>(saga: Saga.Saga<string, C, never>, executionId: string) =>
  Effect.gen(function* () {
    while (true) {
      const status = yield* Saga.status(saga, executionId)
      if (Option.isSome(status)) return status.value
      yield* Effect.sleep("10 millis")
    }
  })

const recover = Effect.gen(function* () {
  const built = Date.now()
  const results = yield* Effect.all(
    { forward: waitFor(forward, ids.forward), backward: waitFor(backward, ids.backward) },
    { concurrency: 2 }
  )
  return { ...results, recoveredAfterMillis: Date.now() - built }
})

Effect.runPromise(
  (mode === "recover" ? recover : run).pipe(
    Effect.provide(Live),
    Effect.provideService(References.MinimumLogLevel, "Error")
  )
).then(
  (output) => {
    process.stdout.write(`${JSON.stringify(output)}\n`)
    process.exit(0)
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
