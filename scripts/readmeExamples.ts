// The README's two consumer examples (JavaScript and TypeScript), found by the marker comment before their fence:
// `<!-- consumer example -->`. The JavaScript one says what it prints in `// prints: ...` comments.
import { readFileSync } from "node:fs"

const root = new URL("..", import.meta.url).pathname
const marker = "<!-- consumer example -->"

export interface ReadmeExample {
  readonly code: string
  /** The lines the program prints, from its `// prints: ...` comments, in order. */
  readonly expected: ReadonlyArray<string>
}

export const readmeExample = (language: "js" | "ts"): ReadmeExample => {
  const readme = readFileSync(`${root}README.md`, "utf8")
  const fence = new RegExp(`${marker}\\s*\\n\`\`\`${language}\\n([\\s\\S]*?)\\n\`\`\``)
  const found = fence.exec(readme)
  if (found === null) throw new Error(`README.md has no \`\`\`${language} block after "${marker}"`)
  const code = found[1]!
  const expected = [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((line) => line[1]!.trim())
  return { code, expected }
}
