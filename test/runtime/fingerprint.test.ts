import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { beforeEach, describe, expect, it } from "vitest"
import { Artifact, type Stage } from "../../dsl/index.ts"
import { makeFingerprinter } from "../../runtime/fingerprint/Fingerprint.ts"
import { makeComputer } from "../../runtime/fingerprint/internal/compute.ts"
import { REPO } from "./project.ts"

let dir = ""
const write = async (file: string, text: string) => {
  await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true })
  await fs.writeFile(path.join(dir, file), text)
}

/** A stage object declared at line `line` of `file` (what Stage.make records). */
const stageAt = (file: string, line: number): Stage.AnyStage => ({
  _tag: "Stage",
  name: "fp/test",
  description: "",
  config: Schema.Struct({}),
  inputs: {},
  output: Artifact.json("X", Schema.Null),
  reads: () => [],
  resource: () => "cpu",
  run: () => Effect.succeed(null),
  location: { file: path.join(dir, file), line, column: 1 },
})

const fingerprint = async (file = "stage.ts", line = 4) => {
  const r = await Effect.runPromise(makeFingerprinter(undefined).fingerprint(stageAt(file, line)))
  return r.fingerprint
}

const STAGE = `import { helper } from "./lib/helpers.ts"
import * as NS from "./lib/ns.ts"
import { reexported } from "./lib/index.ts"
export const stage = { run: (x: number) => helper(x) + NS.used(x) + reexported(x) }
`

beforeEach(async () => {
  dir = path.join(REPO, "test", ".tmp", `fp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`)
  await write("stage.ts", STAGE)
  await write(
    "lib/helpers.ts",
    `import { Effect } from "effect"
/** Doc comment. */
export const helper = (x: number): number => scale(x) + new Counter().next() + Effect.succeed(1).pipe(() => 0)
const scale = (x: Shape) => x * FACTOR
type Shape = number
const FACTOR = 2
class Counter { next() { return 1 } }
export const unrelated = () => "not reached"
registry.push(helper)
const registry: Array<unknown> = []
`,
  )
  await write("lib/ns.ts", `export const used = (x: number) => x + 1\nexport const unused = (x: number) => x - 1\n`)
  await write("lib/index.ts", `export * from "./impl.ts"\n`)
  await write("lib/impl.ts", `export { inner as reexported } from "./deep.ts"\n`)
  await write("lib/deep.ts", "export const inner = (x: number) => `${x}`.length\n")
})

describe("code fingerprint (ts-morph)", () => {
  it("ignores comments and formatting", async () => {
    const before = await fingerprint()
    const text = await fs.readFile(path.join(dir, "lib/helpers.ts"), "utf8")
    await write("lib/helpers.ts", `// header\n${text.replace("/** Doc comment. */", "/** Another doc. */").replace("x * FACTOR", "x   *\n  FACTOR // why\n")}`)
    expect(await fingerprint()).toBe(before)
  })

  it("changes with any reached declaration: helper, constant, type, class, side-effect registration", async () => {
    const base = await fingerprint()
    const text = await fs.readFile(path.join(dir, "lib/helpers.ts"), "utf8")
    const variants = [
      text.replace("FACTOR = 2", "FACTOR = 3"),
      text.replace("type Shape = number", "type Shape = 0 | number"),
      text.replace("next() { return 1 }", "next() { return 2 }"),
      text.replace("registry.push(helper)", "registry.push(helper, helper)"),
    ]
    const seen = new Set([base])
    for (const v of variants) {
      await write("lib/helpers.ts", v)
      const fp = await fingerprint()
      expect(seen.has(fp)).toBe(false)
      seen.add(fp)
    }
  })

  it("does not change with declarations the stage does not reach", async () => {
    const base = await fingerprint()
    const text = await fs.readFile(path.join(dir, "lib/helpers.ts"), "utf8")
    await write("lib/helpers.ts", text.replace('"not reached"', '"still not reached"'))
    await write("lib/ns.ts", `export const used = (x: number) => x + 1\nexport const unused = (x: number) => x - 2\n`)
    expect(await fingerprint()).toBe(base)
  })

  it("follows namespace members, export * and renamed re-exports across files", async () => {
    const base = await fingerprint()
    await write("lib/ns.ts", `export const used = (x: number) => x + 2\nexport const unused = (x: number) => x - 1\n`)
    const nsChanged = await fingerprint()
    expect(nsChanged).not.toBe(base)
    await write("lib/deep.ts", "export const inner = (x: number) => `${x}!`.length\n")
    expect(await fingerprint()).not.toBe(nsChanged)
  })

  it("records external packages with their installed version, and every project file read", async () => {
    const computed = makeComputer().compute({ file: path.join(dir, "stage.ts"), line: 4, column: 1 })
    const effectVersion = JSON.parse(await fs.readFile(path.join(REPO, "node_modules/effect/package.json"), "utf8")).version
    expect(computed.packages).toEqual([`pkg:effect@${effectVersion}`])
    const r = await Effect.runPromise(makeFingerprinter(undefined).fingerprint(stageAt("stage.ts", 4)))
    expect(r.fingerprint).toBe(computed.fingerprint)
    expect([...r.files.keys()].map((f) => path.relative(dir, f)).sort()).toEqual(
      ["lib/deep.ts", "lib/helpers.ts", "lib/impl.ts", "lib/index.ts", "lib/ns.ts", "stage.ts"].sort(),
    )
  })

  it("memoizes by file content: a hit reads no syntax; an edit recomputes", async () => {
    const memo = path.join(dir, "memo.json")
    const first = makeFingerprinter(memo)
    const a = await Effect.runPromise(first.fingerprint(stageAt("stage.ts", 4)))
    await Effect.runPromise(first.flush)
    const again = await Effect.runPromise(makeFingerprinter(memo).fingerprint(stageAt("stage.ts", 4)))
    expect(again.fromMemo).toBe(true)
    expect(again.fingerprint).toBe(a.fingerprint)
    await write("lib/ns.ts", `export const used = (x: number) => x + 5\n`)
    const edited = await Effect.runPromise(makeFingerprinter(memo).fingerprint(stageAt("stage.ts", 4)))
    expect(edited.fromMemo).toBe(false)
    expect(edited.fingerprint).not.toBe(a.fingerprint)
  })

  it("a stage without a known declaration site is a typed error", async () => {
    const stage = { ...stageAt("stage.ts", 4), location: undefined }
    const err = await Effect.runPromise(Effect.flip(makeFingerprinter(undefined).fingerprint(stage)))
    expect(err._tag).toBe("FingerprintError")
    expect(err.message).toContain("declare stages with Stage.make at a module's top level")
  })
})
