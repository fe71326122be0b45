// python-cqrs's event handler fallback (seed 002, examples/event_fallback.py) on the mediator: a UserJoined event has
// three handlers. The welcome mailer is bound to a primary (SMTP, down) and a fallback (a queued SMS); the audit log
// handler always works; the CRM sync fails with no fallback. Each handler is isolated: the CRM failure is logged and
// counted, the others still run, and the JoinUser command that raised the event still answers (python-cqrs raises
// and loses the response). Run with `node examples/cqrs/event-fallback.ts`; exits 1 when the outcome differs.
import { Console, Data, Effect, Logger, Metric, Schema } from "effect"
import { Mediator } from "effect-fallback"

class UserJoined extends Mediator.Event<UserJoined>()("UserJoined", { userId: Schema.String }) {}

class JoinUser extends Mediator.Request<JoinUser>()(
  "JoinUser",
  { userId: Schema.String },
  {
    response: Schema.String
  }
) {}

class SmtpDown extends Data.TaggedError("SmtpDown")<{}> {}
class CrmDown extends Data.TaggedError("CrmDown")<{}> {}

const done: Array<string> = []

const MediatorLive = Mediator.layer({
  requests: [
    Mediator.bind(JoinUser, (request) =>
      Mediator.emit(new UserJoined({ userId: request.userId })).pipe(Effect.as(`welcome aboard, ${request.userId}`))
    )
  ],
  events: [
    Mediator.subscribe(UserJoined, {
      primary: (_event): Effect.Effect<void, SmtpDown> => Effect.fail(new SmtpDown()),
      fallback: (event, trigger) => Effect.sync(() => done.push(`sms to ${event.userId} (after ${trigger._tag})`)),
      on: ["SmtpDown"],
      id: "welcome-mail"
    }),
    Mediator.subscribe(UserJoined, (event) => Effect.sync(() => done.push(`audit ${event.userId}`)), { id: "audit" }),
    Mediator.subscribe(UserJoined, () => Effect.fail(new CrmDown()), { id: "crm-sync" })
  ],
  eventConcurrency: "unbounded"
})

const failures = (handler: string) =>
  Metric.value(Metric.withAttributes(Mediator.eventHandlerFailures, { event: "UserJoined", handler })).pipe(
    Effect.map((state) => state.count)
  )

const errorLogs: Array<string> = []
const logger = Logger.make(({ logLevel, message }) => {
  if (logLevel === "Error") errorLogs.push((message as ReadonlyArray<unknown>).join(" "))
})

const program = Effect.gen(function* () {
  const answer = yield* Mediator.send(new JoinUser({ userId: "ada" }))
  yield* Console.log(`JoinUser answered: ${answer}`)
  for (const line of [...done].sort()) yield* Console.log(`  handled: ${line}`)
  for (const line of errorLogs) yield* Console.log(`  logged: ${line}`)
  return {
    answer,
    done: [...done].sort(),
    failures: {
      "welcome-mail": yield* failures("welcome-mail"),
      audit: yield* failures("audit"),
      crm: yield* failures("crm-sync")
    },
    errorLogs
  }
}).pipe(
  Effect.provide(MediatorLive),
  Effect.provide(Logger.layer([logger])),
  Effect.provideService(Metric.MetricRegistry, new Map())
)

const expected = {
  answer: "welcome aboard, ada",
  done: ["audit ada", "sms to ada (after SmtpDown)"],
  failures: { "welcome-mail": 0, audit: 0, crm: 1 },
  errorLogs: ["Event handler crm-sync failed on UserJoined; the other handlers still run"]
}

Effect.runPromise(program).then(
  (actual) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      console.error(`unexpected:\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`)
      process.exit(1)
    }
    console.log("ok: the mailer fell back to SMS, the CRM failure was isolated, and the command still answered")
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
