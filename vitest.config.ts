import { defineConfig } from "vitest/config"

// Tests import the package by its name; this export condition resolves it to src/ (no build step needed).
const source = "@effect-fallback/source"

export default defineConfig({
  resolve: { conditions: [source, "import", "module", "default"] },
  ssr: { resolve: { conditions: [source, "import", "module", "node", "default"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
