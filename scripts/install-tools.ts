// Installs tools/ (the release checks' own dependencies: TypeDoc with TypeScript 5.9, publint, arethetypeswrong) as
// part of `npm install` / `npm ci` at the root (the prepare script). TypeDoc needs TypeScript's JavaScript API, which
// the root's TypeScript 7 lacks, and npm cannot place both beside each other, hence a folder of their own. Skipped
// when tools/node_modules is already installed from the current tools/package-lock.json (prepare also runs on pack).
import { execFileSync } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import { join } from "node:path"

const tools = new URL("../tools", import.meta.url).pathname
const lock = join(tools, "package-lock.json")
const installed = join(tools, "node_modules/.package-lock.json")

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  execFileSync("npm", [existsSync(lock) ? "ci" : "install", "--no-audit", "--no-fund"], {
    cwd: tools,
    stdio: "inherit"
  })
}
