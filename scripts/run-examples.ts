// Runs every program in examples/ (recursively) with the project's Node, one after the other,
// and fails when any of them exits non-zero: examples are part of the test suite.
import { spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { join, relative } from "node:path"

const root = new URL("..", import.meta.url).pathname
const examplesDir = join(root, "examples")

const collect = (dir: string): Array<string> =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) return collect(path)
      return name.endsWith(".ts") && !name.startsWith("_") ? [path] : []
    })

const examples = collect(examplesDir)
let failed = 0
for (const example of examples) {
  const name = relative(root, example)
  const started = Date.now()
  const run = spawnSync(process.execPath, [...process.execArgv, example], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (run.status === 0) {
    console.log(`ok   ${name} (${seconds}s)`)
  } else {
    failed++
    console.log(`FAIL ${name} (${seconds}s, exit ${run.status ?? run.signal})`)
    console.log(run.stdout)
    console.log(run.stderr)
  }
}
console.log(`examples: ${examples.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
