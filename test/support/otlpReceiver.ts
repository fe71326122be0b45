// A small OTLP/HTTP (JSON) receiver on 127.0.0.1 for the OpenTelemetry example and its test: it accepts what
// `Otlp.layerJson` posts to /v1/traces, /v1/metrics and /v1/logs and keeps the decoded bodies.
import { startServer } from "./httpServer.ts"

interface KeyValue {
  readonly key: string
  readonly value: Record<string, unknown>
}

export interface ReceivedSpan {
  readonly name: string
  readonly attributes: Record<string, unknown>
}

export interface Receiver {
  readonly url: string
  readonly bodies: { readonly traces: Array<any>; readonly metrics: Array<any>; readonly logs: Array<any> }
  /** Every span received, with attributes as plain values. */
  readonly spans: () => ReadonlyArray<ReceivedSpan>
  /** Names of the metrics received, per export (one array per POST to /v1/metrics). */
  readonly metricExports: () => ReadonlyArray<ReadonlyArray<string>>
  /** Bodies of every log record received. */
  readonly logLines: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const plain = (value: Record<string, unknown>): unknown => {
  const [first] = Object.values(value)
  return first
}

const attributes = (list: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, plain(value)]))

export const startReceiver = async (): Promise<Receiver> => {
  const bodies = { traces: [] as Array<any>, metrics: [] as Array<any>, logs: [] as Array<any> }
  const { server, close } = await startServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const kind = request.url?.split("/").pop() as keyof typeof bodies
      if (kind in bodies) bodies[kind].push(JSON.parse(Buffer.concat(chunks).toString("utf8")))
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  return {
    url: server.url,
    bodies,
    spans: () =>
      bodies.traces.flatMap((body) =>
        body.resourceSpans.flatMap((resource: any) =>
          resource.scopeSpans.flatMap((scope: any) =>
            scope.spans.map((span: any) => ({ name: span.name, attributes: attributes(span.attributes) }))
          )
        )
      ),
    metricExports: () =>
      bodies.metrics.map((body) =>
        body.resourceMetrics.flatMap((resource: any) =>
          resource.scopeMetrics.flatMap((scope: any) => scope.metrics.map((metric: any) => metric.name as string))
        )
      ),
    logLines: () =>
      bodies.logs.flatMap((body) =>
        body.resourceLogs.flatMap((resource: any) =>
          resource.scopeLogs.flatMap((scope: any) =>
            scope.logRecords.map((record: any) => String(plain(record.body ?? {}) ?? ""))
          )
        )
      ),
    close
  }
}
