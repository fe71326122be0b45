// Builds dist/ the way `effect` ships: ESM .js, .d.ts, declaration maps and source maps, compiled by tsc from src/.
// tsc rewrites the relative `.ts` imports of the emitted JavaScript to `.js` (rewriteRelativeImportExtensions) but
// leaves them as `.ts` in declaration files, where a consumer's compiler would follow them into the shipped sources;
// this script rewrites those too. `.ts` and `.js` have the same length, so the declaration maps stay exact.
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const root = new URL("..", import.meta.url).pathname
const dist = join(root, "dist")
rmSync(dist, { recursive: true, force: true })
execFileSync(
  process.execPath,
  [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")],
  {
    stdio: "inherit"
  }
)

const declarations = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return declarations(path)
    return name.endsWith(".d.ts") ? [path] : []
  })

const relativeTsSpecifier = /(from\s+|import\(\s*)(["'])(\.\.?\/[^"']*?)\.ts\2/g
for (const file of declarations(dist)) {
  const text = readFileSync(file, "utf8")
  const rewritten = text.replace(
    relativeTsSpecifier,
    (_, prefix: string, quote: string, path: string) => `${prefix}${quote}${path}.js${quote}`
  )
  if (rewritten !== text) writeFileSync(file, rewritten)
}
