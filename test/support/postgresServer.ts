// A real PostgreSQL for the durable saga suites, the saga example and the saga benchmark: `initdb` into a temporary
// directory, `pg_ctl` on a free port of 127.0.0.1 (no Unix socket outside that directory), without fsync, and
// stopped when done. Never a system instance. PostgreSQL refuses to run as root: as root, the server runs as the
// `postgres` user (created by Debian's package) through `runuser`.
import { execFileSync, spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./freePort.ts"

/** The directory of `initdb` and `pg_ctl`: `$PG_BIN`, the newest `/usr/lib/postgresql/<n>/bin`, or the PATH's. */
const binDir = (): string | undefined => {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN
  const root = "/usr/lib/postgresql"
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(join(root, name, "bin", "pg_ctl")))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0] !== undefined) return join(root, versions[0], "bin")
  }
  const which = spawnSync("sh", ["-c", "command -v pg_ctl"], { encoding: "utf8" })
  return which.status === 0 ? join(which.stdout.trim(), "..") : undefined
}

const isRoot = () => process.getuid?.() === 0

const userExists = (user: string) => spawnSync("id", ["-u", user]).status === 0

/** Whether a PostgreSQL server can be started on this machine. */
export const isPostgresAvailable = (): boolean => {
  const dir = binDir()
  if (dir === undefined || !existsSync(join(dir, "initdb")) || !existsSync(join(dir, "pg_ctl"))) return false
  return !isRoot() || userExists("postgres")
}

/** What to tell someone whose machine has no PostgreSQL. */
export const installHint =
  "postgresql not found: install it with `apt-get update && apt-get install -y postgresql` " +
  "(or set PG_BIN to the directory of initdb and pg_ctl) to run the durable saga suites"

export interface PostgresServer {
  readonly port: number
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication on loopback). */
  readonly url: string
  /** Creates a fresh database and returns its URL, so suites sharing a server never see each other's tables. */
  readonly createDatabase: (name: string) => string
  /** Stops the server and removes its directory. */
  readonly stop: () => void
}

/** Runs a PostgreSQL binary, as the `postgres` user when this process is root. */
const runAs = (dir: string, binary: string, args: ReadonlyArray<string>) => {
  const path = join(dir, binary)
  return isRoot()
    ? execFileSync("runuser", ["-u", "postgres", "--", path, ...args], { encoding: "utf8", stdio: "pipe" })
    : execFileSync(path, [...args], { encoding: "utf8", stdio: "pipe" })
}

/** Creates a cluster in a temporary directory and starts it on a free loopback port (about a second). */
export const startPostgresServer = async (): Promise<PostgresServer> => {
  const dir = binDir()
  if (dir === undefined) throw new Error(installHint)
  const base = mkdtempSync(join(tmpdir(), "effect-fallback-pg-"))
  const data = join(base, "data")
  if (isRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    chownSync(base, uid, gid)
  }
  runAs(dir, "initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
  const port = await freePort()
  const options = `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`
  runAs(dir, "pg_ctl", ["-D", data, "-o", options, "-l", join(base, "server.log"), "-w", "-t", "30", "start"])
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    process.removeListener("exit", stop)
    try {
      runAs(dir, "pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  }
  // A server left behind by a crashed test run would keep running: stop it with this process.
  process.once("exit", stop)
  return {
    port,
    url,
    createDatabase: (name) => {
      runAs(dir, "psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-qc", `CREATE DATABASE "${name}"`])
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    stop
  }
}
