/**
 * The layering of DESIGN.md, read from the sources: `dsl/` imports nothing of
 * ours (only packages and Node), `runtime/` never imports `plugins/` or
 * `pipelines/`; `examples/` (a user's own code) imports only the public
 * surface, `dsl/index.ts` and `plugins/index.ts`; and no two folders import
 * each other, directly or around a loop (a folder is `dsl/`, `pipelines/`,
 * or one level below `runtime/` and `plugins/`: `plugins/teachers`). Static
 * imports, re-exports and dynamic `import("...")` with a literal specifier
 * all count.
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

/** The folder a file belongs to, for the cycle check. */
const folderOf = (file: string): string => {
  const parts = file.split(path.sep)
  return (parts[0] === "runtime" || parts[0] === "plugins") && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!
}

/** Folder -> folders it imports (from files of `layers`). */
const folderGraph = (layers: ReadonlyArray<string>): Map<string, Set<string>> => {
  const graph = new Map<string, Set<string>>()
  for (const layer of layers) {
    for (const file of sources(path.join(REPO, layer))) {
      const from = folderOf(path.relative(REPO, file))
      for (const target of relativeImports(file)) {
        const to = folderOf(target)
        if (to === from) continue
        if (!graph.has(from)) graph.set(from, new Set())
        graph.get(from)!.add(to)
      }
    }
  }
  return graph
}

/** Strongly connected components with more than one folder (Tarjan), each sorted. */
const folderCycles = (graph: ReadonlyMap<string, ReadonlySet<string>>): Array<Array<string>> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const out: Array<Array<string>> = []
  const visit = (v: string) => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const comp: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        comp.push(w)
      } while (w !== v)
      if (comp.length > 1) out.push(comp.sort())
    }
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v)
  return out
}

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

  it("the unstable cluster modules (effect/cluster, effect/workflow, effect/sql, effect/persistence, @effect/sql-pg, @effect/platform-node-shared) are imported only in runtime/cluster/", () => {
    const unstable = /^(effect\/(cluster|workflow|sql|persistence)(\/|$)|@effect\/sql-pg|@effect\/platform-node-shared)/
    const offenders = ["dsl", "runtime", "plugins", "pipelines", "examples", "bin", "setup"].flatMap((layer) =>
      sources(path.join(REPO, layer))
        .filter((file) => !path.relative(REPO, file).startsWith(`runtime${path.sep}cluster${path.sep}`))
        .flatMap((file) =>
          [...fs.readFileSync(file, "utf8").matchAll(SPECIFIER)].map((m) => m[1] as string).filter((s) => unstable.test(s)).map((s) => `${path.relative(REPO, file)} imports ${s}`),
        ),
    )
    expect(offenders).toEqual([])
    // and the check sees them where they are
    expect(sources(path.join(REPO, "runtime", "cluster")).some((f) => /from "effect\/cluster"/.test(fs.readFileSync(f, "utf8")))).toBe(true)
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

  it("finds a loop of folders (so the check below can fail)", () => {
    const g = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])], ["d", new Set(["a"])]])
    expect(folderCycles(g)).toEqual([["a", "b", "c"]])
    expect(folderCycles(new Map([["a", new Set(["b"])], ["b", new Set(["c"])]]))).toEqual([])
  })

  it("no folders import each other, directly or around a loop", () => {
    const graph = folderGraph(["dsl", "runtime", "plugins", "pipelines", "examples", "bin"])
    expect(graph.get("plugins/stages")?.has("plugins/teachers")).toBe(true) // the graph is read
    const cycles = folderCycles(graph).map((c) => `${c.join(" <-> ")}: ${c.flatMap((a) => c.filter((b) => graph.get(a)?.has(b)).map((b) => `${a} -> ${b}`)).join(", ")}`)
    expect(cycles).toEqual([])
  })
})
