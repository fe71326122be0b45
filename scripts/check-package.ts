// Checks the package as a user gets it: packs it (which builds dist/), installs the tarball into a throwaway project
// outside the repository, and there
//   - runs the README's JavaScript example with plain Node (no TypeScript, no export condition) and compares its output,
//   - compiles the README's TypeScript example as an ordinary project would: strict, skipLibCheck false, no
//     exactOptionalPropertyTypes, no Node types, with module NodeNext and with moduleResolution Bundler, on
//     TypeScript 7 and on TypeScript 5.9,
//   - checks that internal modules are refused (ERR_PACKAGE_PATH_NOT_EXPORTED),
// and runs publint and arethetypeswrong (esm-only) on the tarball. publint and attw alone would not catch a package
// that ships TypeScript sources: only consuming the tarball does.
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readmeExample } from "./readmeExamples.ts"

const root = new URL("..", import.meta.url).pathname
const node = process.execPath
const tsc7 = join(root, "node_modules/typescript/bin/tsc")
const tsc59 = join(root, "tools/node_modules/typescript/bin/tsc")
const bin = (name: string) => join(root, "tools/node_modules/.bin", name)
// The consumer must not inherit the development export condition (which resolves the package to src/).
const env = { ...process.env, NODE_OPTIONS: "" }

let passed = 0
let failed = 0
const check = (label: string, run: () => string | undefined) => {
  let problem: string | undefined
  try {
    problem = run()
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error)
  }
  if (problem === undefined) {
    passed++
    console.log(`ok   ${label}`)
  } else {
    failed++
    console.log(`FAIL ${label}\n${problem}`)
  }
}
const output = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  const run = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 180_000 })
  return { ok: run.status === 0, text: `${run.stdout ?? ""}${run.stderr ?? ""}`.trim() }
}

const work = mkdtempSync(join(tmpdir(), "effect-fallback-consumer-"))
try {
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, env, encoding: "utf8" })
  ) as ReadonlyArray<{ readonly filename: string; readonly files: ReadonlyArray<{ readonly path: string }> }>
  const tarball = join(work, packed[0]!.filename)
  const shipped = packed[0]!.files.map((file) => file.path)

  check("the tarball ships compiled JavaScript and declarations for every public module", () => {
    const missing = ["dist/index.js", "dist/index.d.ts", "dist/index.d.ts.map", "LICENSE", "CHANGELOG.md"].filter(
      (path) => !shipped.includes(path)
    )
    return missing.length === 0 ? undefined : `missing: ${missing.join(", ")}`
  })

  const consumer = join(work, "consumer")
  mkdirSync(consumer)
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: { effect: `file:${join(root, "node_modules/effect")}`, "effect-fallback": `file:${tarball}` }
    })
  )
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
    cwd: consumer,
    env,
    stdio: "pipe"
  })

  const js = readmeExample("js")
  check("a plain Node ESM program (the README's JavaScript example) runs and prints what the README says", () => {
    writeFileSync(join(consumer, "main.mjs"), js.code)
    const run = output(node, ["main.mjs"], consumer)
    if (!run.ok) return run.text
    // The README's `// prints:` lines, in order; the breaker's own log lines may stand between them.
    const lines = run.text.split("\n")
    let at = 0
    for (const line of lines) if (line === js.expected[at]) at++
    return at === js.expected.length
      ? undefined
      : `expected the lines ${JSON.stringify(js.expected)} in this order, got ${JSON.stringify(run.text)}`
  })

  const ts = readmeExample("ts")
  writeFileSync(join(consumer, "main.ts"), ts.code)
  const compilerOptions = { target: "ES2022", strict: true, skipLibCheck: false, noEmit: true }
  const resolutions = {
    NodeNext: { module: "NodeNext", moduleResolution: "NodeNext" },
    Bundler: { module: "ESNext", moduleResolution: "Bundler" }
  }
  for (const [resolution, options] of Object.entries(resolutions)) {
    const tsconfig = `tsconfig.${resolution}.json`
    writeFileSync(
      join(consumer, tsconfig),
      JSON.stringify({ compilerOptions: { ...compilerOptions, ...options }, files: ["main.ts"] })
    )
    for (const [version, tsc] of [
      ["TypeScript 7", tsc7],
      ["TypeScript 5.9", tsc59]
    ] as const) {
      check(`a TypeScript consumer compiles (${version}, ${resolution}, strict, skipLibCheck false)`, () => {
        const run = output(node, [tsc, "-p", tsconfig], consumer)
        return run.ok ? undefined : run.text
      })
    }
  }

  check("importing an internal module is refused with ERR_PACKAGE_PATH_NOT_EXPORTED", () => {
    const probe = `import("effect-fallback/internal/circuit.js").then(() => console.log("imported"), (e) => console.log(e.code))`
    const run = output(node, ["--input-type=module", "-e", probe], consumer)
    return run.text === "ERR_PACKAGE_PATH_NOT_EXPORTED" ? undefined : `got: ${run.text}`
  })

  check("every shipped module can be imported first (no value import cycles)", () => {
    const installed = join(consumer, "node_modules/effect-fallback")
    const crashed = shipped
      .filter((path) => path.startsWith("dist/") && path.endsWith(".js"))
      .flatMap((path) => {
        const run = output(
          node,
          ["--input-type=module", "-e", `await import(${JSON.stringify(join(installed, path))})`],
          consumer
        )
        return run.ok ? [] : [`${path}: ${run.text.split("\n").find((line) => line.includes("Error")) ?? run.text}`]
      })
    return crashed.length === 0 ? undefined : crashed.join("\n")
  })

  check("publint finds nothing to report", () => {
    const run = output(bin("publint"), ["--strict", join(consumer, "node_modules/effect-fallback")], root)
    return run.ok ? undefined : run.text
  })

  check("arethetypeswrong (esm-only profile) finds no problem", () => {
    const run = output(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], root)
    return run.ok ? undefined : run.text
  })

  check("the README's install command names the package as package.json does", () => {
    const name = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string }).name
    return readFileSync(join(root, "README.md"), "utf8").includes(`npm install ${name} effect`)
      ? undefined
      : `README.md does not show "npm install ${name} effect"`
  })
} finally {
  rmSync(work, { recursive: true, force: true })
}

console.log(`package: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
