/**
 * `ssl-kd cache adopt`: entries of older code carried to the nodes that miss
 * only because their code changed (runtime/executor/adopt.ts), through the
 * real binary on the test project (project.ts: a -> b -> c, a -> d, a -> s).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { tmpdir } from "node:os"
import { codeChanges, saveClosure } from "../../runtime/executor/why.ts"
import { jsonStatuses, makeProject, type Project } from "./project.ts"

interface Report {
  readonly dryRun: boolean
  readonly cached: ReadonlyArray<string>
  readonly adopted: ReadonlyArray<{ node: string; key: string; from: { key: string; node: string; durationMs: number }; code: string }>
  readonly left: ReadonlyArray<{ node: string; reason: string }>
}

const adopt = async (p: Project, args: ReadonlyArray<string> = []): Promise<Report> => {
  const r = await p.cli(["cache", "adopt", "pipeline.ts", "--json", ...args])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout.trim()) as Report
}

const keysOf = async (p: Project, args: ReadonlyArray<string> = []): Promise<Record<string, string>> => {
  const plan = JSON.parse((await p.cli(["plan", "pipeline.ts", "--json", ...args])).stdout.trim()) as { stages: Array<{ name: string; key: string }> }
  return Object.fromEntries(plan.stages.map((s) => [s.name, s.key]))
}

const manifest = async (p: Project, key: string): Promise<Record<string, unknown>> =>
  JSON.parse(await p.read(path.join(".ssl-kd", "entries", key.slice(0, 2), key, "manifest.json"))) as Record<string, unknown>

describe("ssl-kd cache adopt (child processes)", () => {
  it("a refactor of a shared helper: c, d, s adopted with the changed declaration named, then served from the cache with the same values", async () => {
    const p = await makeProject("adopt-refactor")
    const first = await p.cli(["run", "pipeline.ts", "--json"])
    expect(first.code).toBe(0)
    const before = await keysOf(p)
    // The same sums, other code: every consumer of total() misses.
    await p.write("helpers/total.ts", "export const total = (xs: ReadonlyArray<number>): number => { let t = 0; for (const x of xs) t += x; return t }\n")
    const after = await keysOf(p)
    expect(jsonStatuses((await p.cli(["plan", "pipeline.ts", "--json"])).stdout)).toEqual({ a: "cached", b: "cached", c: "will-run", d: "will-run", s: "will-run" })

    const dry = await adopt(p, ["--dry-run"])
    expect(dry.dryRun).toBe(true)
    expect(dry.cached).toEqual(["a", "b"])
    expect(dry.adopted.map((x) => x.node)).toEqual(["c", "d", "s"])
    expect(dry.left).toEqual([])
    for (const x of dry.adopted) {
      expect(x.key).toBe(after[x.node])
      expect(x.from.key).toBe(before[x.node])
      expect(x.code).toBe("code: helpers/total.ts#total changed")
    }
    // A dry run writes nothing.
    expect(jsonStatuses((await p.cli(["plan", "pipeline.ts", "--json"])).stdout)).toMatchObject({ c: "will-run", d: "will-run", s: "will-run" })

    const human = await p.cli(["cache", "adopt", "pipeline.ts"])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^c +[0-9a-f]{12} +[0-9a-f]{12} \(proj\/c\) .* code: helpers\/total\.ts#total changed$/m)
    expect(human.stderr).toMatch(/^adopted 3 entries \(.* of stage time not recomputed\); 2 already cached; 0 left to run$/m)

    const run = await p.cli(["run", "pipeline.ts", "--json"])
    expect(jsonStatuses(run.stdout)).toEqual({ a: "cached", b: "cached", c: "cached", d: "cached", s: "cached" })
    expect(JSON.parse(await p.read(".ssl-kd/out/proj/d/value.json"))).toBe(106)
    expect(JSON.parse(await p.read(".ssl-kd/out/proj/c/value.json"))).toBe(12)
    // The adopted entry keeps the metrics of the run that computed it.
    expect(await p.read(".ssl-kd/out/proj/metrics.csv")).toContain("s,proj/slow,,,total,6")

    const m = await manifest(p, after["c"]!)
    expect(m["key"]).toBe(after["c"])
    expect(m["adoptedFrom"]).toMatchObject({ key: before["c"], codeFingerprint: (await manifest(p, before["c"]!))["codeFingerprint"] })
    expect(m["codeFingerprint"]).not.toBe((await manifest(p, before["c"]!))["codeFingerprint"])
    expect((await p.cli(["cache", "ls"])).stdout).toContain(`(adopted from ${before["c"]!.slice(0, 12)})`)
    expect((await p.cli(["cache", "verify"])).code).toBe(0)
    // Adopting again finds nothing to do.
    expect((await adopt(p)).adopted).toEqual([])
  })

  it("a chain: b's refactor carries b, then c (computed from the old b), and the chain's provenance points at the code that computed it", async () => {
    const p = await makeProject("adopt-chain")
    await p.cli(["run", "pipeline.ts"])
    const before = await keysOf(p)
    await p.write("helpers/scale.ts", "/** Used only by stage b. */\nexport const FACTOR = 2\nexport const scaleAll = (xs: ReadonlyArray<number>): Array<number> => xs.map((x) => FACTOR * x)\n")
    const r = await adopt(p)
    expect(r.adopted.map((x) => [x.node, x.code])).toEqual([
      ["b", "code: helpers/scale.ts#scaleAll changed"],
      // c's own code is unchanged; its key changed with b's
      ["c", "code unchanged (an input was adopted)"],
    ])
    expect(r.adopted[1]?.from.key).toBe(before["c"])
    const computedBy = ((await manifest(p, before["b"]!))["codeFingerprint"]) as string
    const b = await keysOf(p)
    expect((await manifest(p, b["b"]!))["adoptedFrom"]).toMatchObject({ key: before["b"], computedWithCode: computedBy })
    expect(jsonStatuses((await p.cli(["run", "pipeline.ts", "--json"])).stdout)).toEqual({ a: "cached", b: "cached", c: "cached", d: "cached", s: "cached" })
    // A second refactor: the entry computed under its own key is preferred to its adopted copy (same payload).
    await p.write("helpers/scale.ts", "/** Used only by stage b. */\nexport const FACTOR = 2\nexport const scaleAll = (xs: ReadonlyArray<number>): Array<number> => xs.map((v) => FACTOR * v)\n")
    await adopt(p)
    const b2 = await keysOf(p)
    expect(b2["b"]).not.toBe(b["b"])
    expect((await manifest(p, b2["b"]!))["adoptedFrom"]).toMatchObject({ key: before["b"], computedWithCode: computedBy })
  })

  it("never adopts across a config, data or upstream change: those nodes are left to run, each with its reason", async () => {
    const p = await makeProject("adopt-refuse")
    await p.cli(["run", "pipeline.ts"])
    await p.write("helpers/total.ts", "export const total = (xs: ReadonlyArray<number>): number => xs.reduce((t, x) => t + x, 0)\n")
    // d's config differs from every entry of proj/sum: not adopted; c and s are.
    const set = await adopt(p, ["--set", "d.offset=7", "--dry-run"])
    expect(set.adopted.map((x) => x.node)).toEqual(["c", "s"])
    expect(set.left).toEqual([{ node: "d", reason: "no entry of stage proj/sum with this config" }])
    // a's config changes a's value: a has no entry, and nothing downstream of it can be adopted.
    const upstream = await adopt(p, ["--set", "a.count=4", "--dry-run"])
    expect(upstream.adopted).toEqual([])
    expect(upstream.left.map((l) => l.node)).toEqual(["a", "b", "c", "d", "s"])
    expect(upstream.left.find((l) => l.node === "a")?.reason).toBe("no entry of stage proj/a with this config")
    expect(upstream.left.find((l) => l.node === "b")?.reason).toBe("no entry with this config was computed from the current numbers (upstream not cached or adopted)")
    // Not a store: refused without touching the folder.
    const other = path.join(p.dir, "not-a-store")
    await fs.mkdir(other)
    await fs.writeFile(path.join(other, "notes.txt"), "mine")
    const refused = await p.cli(["cache", "adopt", "pipeline.ts", "--cache-dir", other])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain("not-a-store")
    expect(await fs.readdir(other)).toEqual(["notes.txt"])
  })
})

describe("ssl-kd cache adopt: several matching entries", () => {
  it("takes the entry its own node had over another pipeline's equal computation, and refuses when its own entries differ", async () => {
    const p = await makeProject("adopt-several")
    const clock = (body: string) => `import { Effect, Schema } from "effect"
import { Artifact, Stage } from "../../../dsl/index.ts"
export const Stamp = Artifact.json("Stamp", Schema.Finite)
const stamp = (): number => ${body}
export const clock = Stage.make({ name: "proj/clock", config: Schema.Struct({}), inputs: {}, output: Stamp, run: () => Effect.sync(stamp) })
`
    await p.write("clock.ts", clock("performance.now() + Math.random()"))
    const pipeline = (name: string, node: string) => `import { Pipeline } from "../../../dsl/index.ts"
import { clock } from "./clock.ts"
export default Pipeline.make("${name}").stage("${node}", clock, {}).build()
`
    await p.write("mine.ts", pipeline("mine", "t"))
    await p.write("theirs.ts", pipeline("theirs", "u"))
    expect((await p.cli(["run", "mine.ts"])).code).toBe(0)
    expect((await p.cli(["run", "theirs.ts"])).code).toBe(0)
    const before = JSON.parse((await p.cli(["plan", "mine.ts", "--json"])).stdout.trim()) as { stages: Array<{ key: string }> }
    // Same config, no inputs, different payloads (each run stamped its own time).
    await p.write("clock.ts", clock("Math.random() + performance.now()"))
    const r = await p.cli(["cache", "adopt", "mine.ts", "--json", "--dry-run"])
    const report = JSON.parse(r.stdout.trim()) as Report
    expect(report.adopted.map((a) => [a.node, a.from.key, a.from.node])).toEqual([["t", before.stages[0]!.key, "t"]])
    // Two entries of its own node with different payloads (code v1's, and v2's from this run): refused, both named.
    await p.cli(["run", "mine.ts"])
    await p.write("clock.ts", clock("Math.random() + (performance.now())"))
    const twice = JSON.parse((await p.cli(["cache", "adopt", "mine.ts", "--json"])).stdout.trim()) as Report
    expect(twice.adopted).toEqual([])
    expect(twice.left[0]?.reason).toMatch(/^2 entries match with different payloads \([0-9a-f]{12}, [0-9a-f]{12}\): not adopted$/)
  })
})

describe("codeChanges across checkouts", () => {
  it("names declarations by their path inside each closure's checkout, so a worktree elsewhere compares declaration by declaration", async () => {
    const store = await fs.mkdtemp(path.join(tmpdir(), "ssl-kd-closures-"))
    const closure = (root: string, f: string) =>
      new Map([[`${root}/dsl/Stage.ts#make`, "m1"], [`${root}/plugins/stages/paper/distill.ts#jointDistill`, f], [`${root}/plugins/models/vit.ts#forward`, "v1"]])
    await saveClosure(store, "old", closure("/work/repro326", "d1"))
    await saveClosure(store, "new", closure("/home/me/ssl-kd", "d2"))
    await saveClosure(store, "same", closure("/srv/ci/checkout", "d1"))
    expect(await codeChanges(store, "old", "new", "paper/joint-distill")).toBe("code: plugins/stages/paper/distill.ts#jointDistill changed")
    expect(await codeChanges(store, "old", "same", "paper/joint-distill")).toBe(
      "code of stage paper/joint-distill changed (a package version, the checkout's folder or the declaration order)",
    )
    expect(await codeChanges(store, "old", "missing", "paper/joint-distill")).toBe("code of stage paper/joint-distill changed")
    await fs.rm(store, { recursive: true, force: true })
  })
})
