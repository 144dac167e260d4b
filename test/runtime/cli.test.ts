import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { collect, jsonStatuses, makeProject, waitFor } from "./project.ts"

const ALL_RAN = { a: "ran", b: "ran", c: "ran", d: "ran", s: "ran" }
const ALL_CACHED = { a: "cached", b: "cached", c: "cached", d: "cached", s: "cached" }

describe("ssl-kd run / plan (child processes)", () => {
  it("second run of an unchanged pipeline: every stage cached, none ran; JSON contract", async () => {
    const p = await makeProject("rerun")
    const first = await p.cli(["run", "pipeline.ts", "--json"])
    expect(first.code).toBe(0)
    expect(jsonStatuses(first.stdout)).toEqual(ALL_RAN)
    const second = await p.cli(["run", "pipeline.ts", "--json"])
    expect(second.code).toBe(0)
    expect(jsonStatuses(second.stdout)).toEqual(ALL_CACHED)
    const parsed = JSON.parse(second.stdout.trim()) as { stages: Array<Record<string, unknown>> }
    for (const s of parsed.stages) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining(["name", "key", "status"]))
      expect(s.key).toMatch(/^[0-9a-f]{64}$/)
    }
    const plan = await p.cli(["plan", "pipeline.ts", "--json"])
    expect(jsonStatuses(plan.stdout)).toEqual(ALL_CACHED)
  })

  it("a config change reruns exactly that stage and its descendants", async () => {
    const p = await makeProject("config")
    await p.cli(["run", "pipeline.ts"])
    const plan = await p.cli(["plan", "pipeline.ts", "--set", "a.count=4", "--json"])
    expect(jsonStatuses(plan.stdout)).toEqual({ a: "will-run", b: "will-run", c: "will-run", d: "will-run", s: "will-run" })
    const leaf = await p.cli(["run", "pipeline.ts", "--set", "d.offset=7", "--json"])
    expect(jsonStatuses(leaf.stdout)).toEqual({ ...ALL_CACHED, d: "ran" })
  })

  it("editing a helper in another file that only stage b reaches reruns b and its descendant c only", async () => {
    const p = await makeProject("helper")
    await p.cli(["run", "pipeline.ts"])
    const helper = await p.read("helpers/scale.ts")
    // Comments and formatting do not count.
    await p.write("helpers/scale.ts", `// a new comment\n${helper.replace("xs.map((x) => x * FACTOR)", "xs.map( (x) =>   x * FACTOR )")}`)
    expect(jsonStatuses((await p.cli(["run", "pipeline.ts", "--json"])).stdout)).toEqual(ALL_CACHED)
    // A constant the helper reads does.
    await p.write("helpers/scale.ts", helper.replace("FACTOR = 2", "FACTOR = 3"))
    const after = await p.cli(["run", "pipeline.ts", "--json"])
    expect(jsonStatuses(after.stdout)).toEqual({ a: "cached", b: "ran", c: "ran", d: "cached", s: "cached" })
    // A helper shared by c, d and s reruns those (and not a or b).
    await p.write("helpers/total.ts", "export const total = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) * 1\n")
    const shared = await p.cli(["run", "pipeline.ts", "--json"])
    expect(jsonStatuses(shared.stdout)).toEqual({ a: "cached", b: "cached", c: "ran", d: "ran", s: "ran" })
  })

  it("a truncated payload is found by cache verify and recomputed by the next run, which says why", async () => {
    const p = await makeProject("truncate")
    const first = JSON.parse((await p.cli(["run", "pipeline.ts", "--json"])).stdout.trim()) as { stages: Array<{ name: string; key: string }> }
    const key = first.stages.find((s) => s.name === "b")!.key
    const payload = path.join(p.dir, ".ssl-kd", "entries", key.slice(0, 2), key, "payload", "value.json")
    await fs.truncate(payload, 2)
    const verify = await p.cli(["cache", "verify"])
    expect(verify.code).toBe(1)
    expect(verify.stderr).toContain(`corrupt ${key}: payload file value.json has 2 bytes`)
    const rerun = await p.cli(["run", "pipeline.ts", "--json"])
    const b = (JSON.parse(rerun.stdout.trim()) as { stages: Array<{ name: string; status: string; reason: string }> }).stages.find((s) => s.name === "b")!
    expect(b.status).toBe("ran")
    expect(b.reason).toMatch(/^corrupt cache entry \(payload file value.json has 2 bytes, manifest says \d+ bytes\)$/)
    expect(jsonStatuses(rerun.stdout)).toEqual({ ...ALL_CACHED, b: "ran" })
    expect((await p.cli(["cache", "verify"])).code).toBe(0)
  })

  it("SIGKILL mid-stage leaves no corrupt entry; the next run completes", async () => {
    const p = await makeProject("kill")
    const child = p.spawnCli(["run", "pipeline.ts", "--preset", "slow"])
    await waitFor(child, /\[s\] \d+\/40/)
    child.kill("SIGKILL")
    await collect(child)
    const tmp = await fs.readdir(path.join(p.dir, ".ssl-kd", "tmp")).catch(() => [])
    const next = await p.cli(["run", "pipeline.ts", "--preset", "slow", "--json"])
    expect(next.code).toBe(0)
    expect(jsonStatuses(next.stdout).s).toBe("ran")
    const verify = await p.cli(["cache", "verify", "--json"])
    expect(JSON.parse(verify.stdout).corrupt).toBe(0)
    expect(tmp.length).toBeGreaterThanOrEqual(0)
    const gc = await p.cli(["cache", "gc", "--json"])
    expect(gc.code).toBe(0)
    expect(await fs.readdir(path.join(p.dir, ".ssl-kd", "tmp"))).toEqual([])
  })

  it("Ctrl-C (SIGINT) interrupts cleanly: exit 130, no entry and no temp folder for the stage", async () => {
    const p = await makeProject("sigint")
    const child = p.spawnCli(["run", "pipeline.ts", "--preset", "slow", "--json"])
    const done = collect(child)
    await waitFor(child, /\[s\] \d+\/40/)
    child.kill("SIGINT")
    const r = await done
    expect(r.code).toBe(130)
    expect(await fs.readdir(path.join(p.dir, ".ssl-kd", "tmp"))).toEqual([])
    const plan = await p.cli(["plan", "pipeline.ts", "--preset", "slow", "--json"])
    expect(jsonStatuses(plan.stdout).s).toBe("will-run")
    const runs = await fs.readdir(path.join(p.dir, ".ssl-kd", "runs"))
    const records = await Promise.all(runs.map(async (f) => JSON.parse(await fs.readFile(path.join(p.dir, ".ssl-kd", "runs", f), "utf8"))))
    expect(records.some((r) => r.interrupted === true)).toBe(true)
  })

  it("two runs started at once on one store both succeed, each entry computed once", async () => {
    const p = await makeProject("concurrent")
    const [r1, r2] = await Promise.all([
      p.cli(["run", "pipeline.ts", "--preset", "slow", "--set", "s.stepMs=20", "--json"]),
      p.cli(["run", "pipeline.ts", "--preset", "slow", "--set", "s.stepMs=20", "--json"]),
    ])
    expect([r1.code, r2.code]).toEqual([0, 0])
    const s1 = jsonStatuses(r1.stdout)
    const s2 = jsonStatuses(r2.stdout)
    for (const name of Object.keys(ALL_RAN)) expect([s1[name], s2[name]].sort()).toEqual(["cached", "ran"])
    const verify = await p.cli(["cache", "verify", "--json"])
    expect(JSON.parse(verify.stdout)).toMatchObject({ corrupt: 0 })
    expect(JSON.parse(verify.stdout).entries).toHaveLength(5)
  })

  it("bad config fails before any stage runs, naming stage, field and expected value", async () => {
    const p = await makeProject("badconfig")
    const r = await p.cli(["run", "pipeline.ts", "--set", "a.count=0", "--set", "d.offset=\"x\""])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("invalid config for stage a (proj/a) in pipeline proj:\n  - count: Expected a value between 1 and 100, got 0")
    expect(r.stderr).toContain('invalid config for stage d (proj/sum) in pipeline proj:\n  - offset: Expected number, got "x"')
    expect(r.stderr).not.toMatch(/\n\s+at /)
    await expect(fs.readdir(path.join(p.dir, ".ssl-kd", "entries"))).rejects.toThrow()
  })

  it("a broken pipeline file is a typed error, not a stack trace", async () => {
    const p = await makeProject("broken")
    await p.write("broken.ts", "export default 42\n")
    const noExport = await p.cli(["plan", "broken.ts"])
    expect(noExport.code).toBe(2)
    expect(noExport.stderr).toContain("cannot load pipeline broken.ts: it has no pipeline export")
    await p.write("syntax.ts", "export default (\n")
    const syntax = await p.cli(["plan", "syntax.ts"])
    expect(syntax.code).toBe(2)
    expect(syntax.stderr).toContain("cannot load pipeline syntax.ts")
    const missing = await p.cli(["run", "nope.ts"])
    expect(missing.stderr).toContain("cannot load pipeline nope.ts: no such file")
  })

  it("graph prints mermaid, dot and json", async () => {
    const p = await makeProject("graph")
    const mermaid = await p.cli(["graph", "pipeline.ts"])
    expect(mermaid.stdout).toContain("a -->|numbers| b")
    const dot = await p.cli(["graph", "pipeline.ts", "--format", "dot"])
    expect(dot.stdout).toContain('"b" -> "c" [label="numbers"];')
    const json = JSON.parse((await p.cli(["graph", "pipeline.ts", "--format", "json"])).stdout) as { nodes: Array<{ name: string }> }
    expect(json.nodes.map((n) => n.name)).toEqual(["a", "b", "c", "d", "s"])
  })

  it("--help lists every option with a sentence and an example, the pipeline's presets, and native among the backends", { timeout: 240_000 }, async () => {
    const p = await makeProject("help")
    const r = await p.cli(["run", "pipeline.ts", "--help"])
    expect(r.code).toBe(0)
    for (const flag of ["--preset P", "--set NODE.FIELD=VALUE", "--force STAGE", "--out DIR", "--data-dir DIR", "--verbose, -v", "--backend node-gpu|node|native|wasm|cpu", "--cluster URL", "--remote-store URL"]) {
      expect(r.stdout).toContain(`  ${flag}`)
    }
    expect(r.stdout.match(/^ {6}e\.g\. ssl-kd /gm)?.length).toBe(13)
    expect(r.stdout).toContain("Presets of pipeline.ts (pipeline proj): slow.")
    for (const cmd of ["plan", "graph", "cache", "watch", "data", "extract", "teachers", "runs", "runner", "cluster"]) {
      const h = await p.cli([cmd, "--help"])
      expect(h.code).toBe(0)
      expect(h.stdout).toContain("usage: ssl-kd")
      expect(h.stdout).toContain("e.g. ssl-kd")
    }
  })

  it("errors: one prefix, did-you-mean for --set fields, --force names, pipeline paths and commands; a non-pipeline file is no TypeError", { timeout: 180_000 }, async () => {
    const p = await makeProject("errors")
    await p.write("notes.md", "# not a pipeline\n")
    const md = await p.cli(["run", "notes.md"])
    expect(md.code).toBe(2)
    expect(md.stderr).toContain("ssl-kd run: cannot load pipeline notes.md: a pipeline is a TypeScript (or JavaScript) module")
    expect(md.stderr).not.toContain("TypeError")
    const field = await p.cli(["plan", "pipeline.ts", "--set", "d.ofset=7"])
    expect(field.stderr).toContain('ofset: unknown field; did you mean "offset"?')
    const force = await p.cli(["plan", "pipeline.ts", "--force", "zz"])
    expect(force.stderr).toMatch(/^ssl-kd plan: unknown stage of pipeline proj "zz"\.[^\n]* Known: a, b, c, d, s\n$/)
    const file = await p.cli(["run", "pipelin.ts"])
    expect(file.stderr).toContain("no such file; did you mean pipeline.ts?")
    const option = await p.cli(["plan", "pipeline.ts", "--bogus"])
    expect(option.stderr.startsWith("ssl-kd plan: Unknown option '--bogus'")).toBe(true)
    expect(option.stderr).not.toContain("ssl-kd: ssl-kd")
    const command = await p.cli(["rnu"])
    expect(command.stderr).toContain('Did you mean "run"?')
  })

  it("outputs, why a stage reruns, metrics and runs / runs diff; a cached run prints a summary", { timeout: 300_000 }, async () => {
    const p = await makeProject("outputs")
    const first = await p.cli(["run", "pipeline.ts"])
    expect(first.code).toBe(0)
    const out = path.join(p.dir, ".ssl-kd", "out", "proj")
    // The terminal nodes (no consumer): c, d, s.
    expect((await fs.readdir(out)).sort()).toEqual(["c", "d", "metrics", "metrics.csv", "run.json", "s"])
    expect(JSON.parse(await p.read(".ssl-kd/out/proj/d/value.json"))).toBe(106)
    const csv = (await p.read(".ssl-kd/out/proj/metrics.csv")).trim().split("\n")
    expect(csv[0]).toBe("node,stage,epoch,step,metric,value")
    expect(csv).toContain("s,proj/slow,1,1,loss,1")
    expect(csv).toContain("s,proj/slow,,,total,6")
    expect(first.stdout).toContain("outputs: .ssl-kd/out/proj/ (c/, d/, s/, metrics.csv, run.json)")

    const cached = await p.cli(["run", "pipeline.ts"])
    expect(cached.stderr).not.toMatch(/\[a\] cached/)
    expect(cached.stderr).toContain("0 ran, 5 cached (-v lists every stage)")
    expect((await p.cli(["run", "pipeline.ts", "-v"])).stderr).toMatch(/\[a\] cached/)

    const plan = await p.cli(["plan", "pipeline.ts", "--set", "d.offset=7", "--json"])
    const d = (JSON.parse(plan.stdout) as { stages: Array<{ name: string; reason?: string }> }).stages.find((s) => s.name === "d")
    expect(d?.reason).toBe("config offset: 100 -> 7")
    await p.write("helpers/scale.ts", (await p.read("helpers/scale.ts")).replace("FACTOR = 2", "FACTOR = 3"))
    const ran = await p.cli(["run", "pipeline.ts", "--set", "d.offset=7", "--out", "elsewhere", "--json"])
    const reasons = Object.fromEntries((JSON.parse(ran.stdout) as { stages: Array<{ name: string; reason: string }> }).stages.map((s) => [s.name, s.reason]))
    expect(reasons).toMatchObject({ b: "code: helpers/scale.ts#FACTOR changed", c: "upstream b changed", d: "config offset: 100 -> 7", a: "cache hit" })
    expect(JSON.parse(await p.read("elsewhere/d/value.json"))).toBe(13)

    const runs = await p.cli(["runs"])
    expect(runs.stdout).toMatch(/@1 .* proj +ok .* 3\/2\/0 .*s\.loss=1 s\.total=6/)
    const diff = await p.cli(["runs", "diff", "@2", "@1"])
    expect(diff.stdout).toContain("d.offset: 100 -> 7")
    expect(diff.stdout).toContain("stages with a different cache key: b, c, d")
  })
})
