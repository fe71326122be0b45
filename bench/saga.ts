// A three-step saga (each step returns the next context at once) against calling the three step effects directly:
// sagas per second and the cost each step adds, on Effect's memory engine (`WorkflowEngine.layerMemory`) and on the
// durable engine (ClusterWorkflowEngine on one runner, storage in a PostgreSQL started for the run on a free loopback
// port; skipped, with the install hint, when PostgreSQL is missing). Every saga is a new execution id; the memory
// engine keeps every execution it ran, so its rows also pay for a growing map.
import { Context, Effect, Exit, Layer, References, Schema, Scope } from "effect"
import { Workflow, WorkflowEngine } from "effect/workflow"
import { Saga } from "effect-fallback"
import { installHint, isPostgresAvailable, startPostgresServer } from "../test/support/postgresServer.ts"
import { postgresEngine } from "../test/support/sagaPostgres.ts"
import { effectLoop, type Suite } from "./harness.ts"

export const MEMORY = "Saga, three steps, memory engine"
export const POSTGRES = "Saga, three steps, PostgreSQL engine"

const names = {
  direct: "the three step effects called directly (baseline)",
  saga: "Saga.run, three steps",
  workflow: "an empty effect/workflow Workflow.execute on the same engine (the engine's floor)"
} as const

const Counter = Schema.Struct({ id: Schema.String, n: Schema.Number })
type Counter = typeof Counter.Type

const increment = (context: Counter): Effect.Effect<Counter> => Effect.succeed({ ...context, n: context.n + 1 })

const saga = Saga.make("BenchSaga", {
  context: Counter,
  steps: [
    Saga.step("One", { act: increment, compensate: () => Effect.void }),
    Saga.step("Two", { act: increment, compensate: () => Effect.void }),
    Saga.step("Three", { act: increment, compensate: () => Effect.void })
  ]
})

const direct = Effect.suspend(() =>
  Effect.flatMap(increment({ id: "direct", n: 0 }), (one) => Effect.flatMap(increment(one), increment))
)

// The engine's own cost of one execution, with nothing in it.
const Empty = Workflow.make("BenchEmpty", { payload: { key: Schema.String }, idempotencyKey: (payload) => payload.key })
const EmptyLive = Empty.toLayer(() => Effect.void)

let executions = 0
const run = Effect.suspend(() => {
  const executionId = `bench-${process.pid}-${executions++}`
  return Saga.run(saga, { id: executionId, n: 0 }, { executionId })
})

/** Builds a layer into a scope that lives until the suite closes. */
const build = async <A, E>(layer: Layer.Layer<A, E>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return { context, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const quiet = Layer.succeed(References.MinimumLogLevel, "None")

const empty = Effect.suspend(() => Empty.execute({ key: `empty-${process.pid}-${executions++}` }))

const registered = <E, R>(engine: Layer.Layer<WorkflowEngine.WorkflowEngine, E, R>) =>
  Layer.mergeAll(Saga.layer(saga), EmptyLive).pipe(Layer.provideMerge(engine), Layer.merge(quiet))

const perStep = (suite: string) => (r: Parameters<NonNullable<Suite["targets"]>[number]["measure"]>[0]) => {
  const saga = r.ns(suite, names.saga)
  const baseline = r.ns(suite, names.direct)
  return saga === undefined || baseline === undefined ? undefined : (saga - baseline) / 3
}

const sagaSuite = async (options: {
  readonly name: string
  readonly description: string
  readonly engine: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>
  /** The aim for the added cost of one step, in nanoseconds. */
  readonly aimPerStep: number
  readonly close?: () => void
}): Promise<Suite> => {
  const engine = await build(registered(options.engine))
  const context = engine.context as Context.Context<WorkflowEngine.WorkflowEngine>
  return {
    name: options.name,
    description: options.description,
    unit: "call",
    baseline: names.direct,
    cases: [
      effectLoop(names.direct, direct),
      effectLoop(names.workflow, empty, context),
      effectLoop(names.saga, run, context)
    ],
    targets: [
      {
        label: `${options.name}: added cost per step, (saga - direct) / 3`,
        measure: perStep(options.name),
        compare: "<=",
        limit: options.aimPerStep,
        unit: "ns",
        aim: true
      }
    ],
    close: async () => {
      await engine.close()
      options.close?.()
    }
  }
}

const memorySuite = () =>
  sagaSuite({
    name: MEMORY,
    description: "one operation is one saga (a new execution id) or the three effects; per-step cost below",
    engine: WorkflowEngine.layerMemory,
    aimPerStep: 100_000
  })

const postgresSuite = async (): Promise<Suite> => {
  if (!isPostgresAvailable()) throw new Error(installHint)
  const server = await startPostgresServer()
  return sagaSuite({
    name: POSTGRES,
    description: "ClusterWorkflowEngine + SingleRunner, PostgreSQL 127.0.0.1 (fsync off); per-step cost below",
    engine: postgresEngine(server.createDatabase("bench_saga")),
    aimPerStep: 20_000_000,
    close: server.stop
  })
}

export const suites = [memorySuite, postgresSuite]
