// Debian's `chromium`, driven by playwright-core (which downloads nothing): for the dashboard's browser suite and the
// README screenshot. Each launch gets a fresh profile in a temporary directory, removed on close.
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"

/** The browser binary: `$CHROMIUM`, or Debian's `/usr/bin/chromium`. */
export const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium"

export const isChromiumAvailable = (): boolean => existsSync(chromiumPath)

/** What to tell someone whose machine has no chromium. */
export const chromiumHint =
  `chromium not found at ${chromiumPath}: install it with \`apt-get update && apt-get install -y chromium\` ` +
  "(or set CHROMIUM to its path) to run the dashboard's browser tests"

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

export interface Chromium {
  readonly context: BrowserContext
  readonly close: () => Promise<void>
}

export const launchChromium = async (viewport = { width: 1200, height: 800 }): Promise<Chromium> => {
  const profile = mkdtempSync(join(tmpdir(), "dashboard-chromium-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ARGS,
    viewport
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}
