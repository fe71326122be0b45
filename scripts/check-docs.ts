// Keeps the documentation honest:
//   - every ```ts example in the JSDoc of src/, in README.md and in docs/*.md is compiled, as a module of its own,
//     against the package (fences written ```ts fragment are partial on purpose and skipped);
//   - every export of a public module (src/*.ts) has JSDoc with @since and @category.
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const out = join(root, ".docs-check")

interface Example {
  readonly origin: string
  readonly code: string
}

const fenced = /```ts([^\n]*)\n([\s\S]*?)\n\s*```/g

const examplesIn = (file: string, text: string, origin: (offset: number) => string): Array<Example> =>
  [...text.matchAll(fenced)]
    .filter((match) => match[1]!.trim() === "")
    .map((match) => ({ origin: origin(match.index), code: match[2]! }))
    .filter(() => file.length > 0)

const lineOf = (text: string, offset: number) => text.slice(0, offset).split("\n").length

const jsdocExamples = (file: string): Array<Example> => {
  const source = readFileSync(file, "utf8")
  return [...source.matchAll(/\/\*\*[\s\S]*?\*\//g)].flatMap((comment) => {
    // Strip the comment's frame (` * `) so that what is left is Markdown.
    const body = comment[0].replace(/^\s*\/?\*+\/? ?/gm, "")
    const line = lineOf(source, comment.index)
    return examplesIn(file, body, (offset) => `${file}:${line + lineOf(body, offset) - 1}`)
  })
}

const markdownExamples = (file: string): Array<Example> => {
  const text = readFileSync(file, "utf8")
  return examplesIn(file, text, (offset) => `${file}:${lineOf(text, offset)}`)
}

const rel = (path: string) => path.slice(root.length)
const srcFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? srcFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

const publicModules = readdirSync(join(root, "src"))
  .filter((name) => name.endsWith(".ts"))
  .map((name) => join(root, "src", name))
const docs = readdirSync(join(root, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => join(root, "docs", name))

const examples = [
  ...srcFiles(join(root, "src")).flatMap((file) => jsdocExamples(rel(file))),
  ...[join(root, "README.md"), ...docs].flatMap((file) => markdownExamples(rel(file)))
]

let failed = 0

// 1. Every export of a public module documented, with @since and @category.
for (const file of publicModules) {
  const source = readFileSync(file, "utf8")
  const name = basename(file)
  for (const match of source.matchAll(
    /^export (?:declare )?(?:const|class|interface|type|function|namespace) (\w+)/gm
  )) {
    const before = source.slice(0, match.index).trimEnd()
    const jsdoc = before.endsWith("*/") ? before.slice(before.lastIndexOf("/**")) : ""
    const missing = ["@since", "@category"].filter((tag) => !jsdoc.includes(tag))
    if (name === "index.ts") continue
    if (missing.length > 0) {
      failed++
      console.log(`FAIL src/${name}:${lineOf(source, match.index)} ${match[1]}: JSDoc lacks ${missing.join(" and ")}`)
    }
  }
}

// 2. Every example compiles.
rmSync(out, { recursive: true, force: true })
mkdirSync(out)
const origins = new Map<string, string>()
examples.forEach((example, index) => {
  const file = `example${index}.ts`
  origins.set(file, example.origin)
  const isModule = /^\s*(import|export)\s/m.test(example.code)
  writeFileSync(join(out, file), `${example.code}\n${isModule ? "" : "export {}\n"}`)
})
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    extends: "../tsconfig.json",
    // Examples show a call and leave its result unused; that is not a mistake in an example.
    compilerOptions: { noUnusedLocals: false, noUnusedParameters: false },
    include: ["*.ts"]
  })
)
const compiled = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", out], {
  cwd: root,
  encoding: "utf8"
})
const errors = `${compiled.stdout}${compiled.stderr}`.split("\n").filter((line) => line.trim().length > 0)
const broken = new Set<string>()
for (const line of errors) {
  const file = /(example\d+\.ts)/.exec(line)?.[1]
  if (file !== undefined) broken.add(file)
  console.log(file === undefined ? line : `FAIL ${origins.get(file)}: ${line.slice(line.indexOf(file) + file.length)}`)
}
if (compiled.status !== 0 && broken.size === 0) failed++
failed += broken.size
rmSync(out, { recursive: true, force: true })

console.log(`docs: ${examples.length - broken.size} passed, ${failed} failed (${examples.length} examples compiled)`)
process.exit(failed === 0 ? 0 : 1)
