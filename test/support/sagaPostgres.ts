// The durable saga engine used by the PostgreSQL suites, the worker processes, the example and the benchmark:
// Effect's cluster workflow engine on one runner, with messages, replies and runner locks in PostgreSQL.
import { PgClient } from "@effect/sql-pg"
import { Layer, Redacted } from "effect"
import { ClusterWorkflowEngine, SingleRunner } from "effect/cluster"
import { Digest } from "effect/crypto"

export const postgresEngine = (url: string) =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(SingleRunner.layer({ runnerStorage: "sql" })),
    Layer.provide(PgClient.layer({ url: Redacted.make(url) })),
    Layer.provide(Digest.layerWebCrypto)
  )
