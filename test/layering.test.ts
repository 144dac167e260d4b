/**
 * The layering of DESIGN.md, read from the sources: `dsl/` imports nothing of
 * ours (only packages and Node), `runtime/` never imports `plugins/` or
 * `pipelines/`; `examples/` (a user's own code) imports only the public
 * surface, `dsl/index.ts` and `plugins/index.ts`. Static imports, re-exports and dynamic `import("...")` with a
 * literal specifier all count.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { REPO } from "./runtime/project.ts"

const sources = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "build" ? [] : sources(p)
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : []
  })

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g

/** Every relative import of `file`, resolved to a path relative to the repository root. */
const relativeImports = (file: string): Array<string> =>
  [...fs.readFileSync(file, "utf8").matchAll(SPECIFIER)]
    .map((m) => m[1] as string)
    .filter((s) => s.startsWith("."))
    .map((s) => path.relative(REPO, path.resolve(path.dirname(file), s)))

const violations = (layer: string, allowed: (target: string) => boolean) =>
  sources(path.join(REPO, layer)).flatMap((file) =>
    relativeImports(file)
      .filter((t) => !allowed(t))
      .map((t) => `${path.relative(REPO, file)} imports ${t}`),
  )

describe("layering", () => {
  it("the reader finds imports of every form (so the checks below can fail)", () => {
    const dir = fs.mkdtempSync(path.join(REPO, "test", ".layering-"))
    try {
      const file = path.join(dir, "x.ts")
      fs.writeFileSync(file, `import { a } from "../../plugins/a.ts"\nexport * from '../b.ts'\nconst c = await import("./c.ts")\nimport "../../d.ts"\nimport { e } from "effect"\n`)
      expect(relativeImports(file).sort()).toEqual(["d.ts", "plugins/a.ts", path.join("test", "b.ts"), path.join(path.relative(REPO, dir), "c.ts")].sort())
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("dsl/ imports nothing of ours", () => {
    expect(violations("dsl", (t) => t.startsWith(`dsl${path.sep}`))).toEqual([])
  })

  it("runtime/ never imports plugins/ or pipelines/", () => {
    expect(violations("runtime", (t) => !t.startsWith(`plugins${path.sep}`) && !t.startsWith(`pipelines${path.sep}`))).toEqual([])
  })

  it("examples/ (a user's teacher) uses the public surface only: dsl/index.ts, plugins/index.ts, pipelines/, its own files", () => {
    const publicSurface = new Set([path.join("dsl", "index.ts"), path.join("plugins", "index.ts")])
    const allowed = (t: string) => publicSurface.has(t) || t.startsWith(`pipelines${path.sep}`) || t.startsWith(`examples${path.sep}`)
    expect(sources(path.join(REPO, "examples")).length).toBeGreaterThan(0)
    expect(violations("examples", allowed)).toEqual([])
  })
})
