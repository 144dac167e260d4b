/**
 * Pipeline families (`Pipeline.family`): a pipeline file whose shape depends
 * on the preset. Loading picks the member named by `--preset` (the default
 * member without one), applies that member's own preset, and an unknown
 * preset is a typed error with "did you mean".
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Pipeline } from "../../dsl/index.ts"
import { loadPipeline } from "../../runtime/cli/loadPipeline.ts"
import { REPO } from "./project.ts"
import { planPipeline, runPipeline, statuses, tempDir } from "./harness.ts"

const source = `import { Pipeline } from "../../../dsl/index.ts"
import { describeTotals, generate, sum } from "../../dsl/sampleStages.ts"

const small = Pipeline.make("fam").stage("gen", generate, { config: { count: 2 } }).stage("total", sum, { inputs: { numbers: "gen" } }).build()
const large = Pipeline.make("fam")
  .stage("gen", generate, { config: { count: 5 } })
  .fanOut("seeds", sum, { inputs: { numbers: "gen" }, over: { s0: { scale: 1 }, s1: { scale: 2 }, s2: { scale: 3 } } })
  .stage("report", describeTotals, { inputs: { totals: ["seeds"] } })
  .preset("large", { gen: { count: 4 } })
  .build()
export default Pipeline.family("fam", { small, large }, "small")
`

describe("pipeline families", () => {
  it("loads the member named by the preset, the default one without, and rejects unknown presets with did-you-mean", async () => {
    const dir = path.join(REPO, "test", ".tmp", `family-${process.pid}`)
    await fs.mkdir(dir, { recursive: true })
    const file = path.join(dir, "pipeline.ts")
    await fs.writeFile(file, source)
    const byDefault = await Effect.runPromise(loadPipeline(file))
    expect(byDefault.nodes.map((n) => n.name)).toEqual(["gen", "total"])
    const large = await Effect.runPromise(loadPipeline(file, REPO, "large"))
    expect(large.nodes.map((n) => n.name)).toEqual(["gen", "seeds[s0]", "seeds[s1]", "seeds[s2]", "report"])
    // The member's own preset applies (count 4: totals 10, 20, 30).
    const cache = await tempDir("family")
    const report = await runPipeline(cache, large, { preset: "large" })
    expect(statuses(report)).toEqual({ gen: "ran", "seeds[s0]": "ran", "seeds[s1]": "ran", "seeds[s2]": "ran", report: "ran" })
    const plan = await planPipeline(cache, large, { preset: "large" })
    const node = plan.nodes.find((n) => n.node.name === "report")!
    const value = await fs.readFile(path.join(cache, "entries", node.key.slice(0, 2), node.key, "payload", "value.json"), "utf8")
    expect(JSON.parse(value)).toBe("seeds[s0]=10,seeds[s1]=20,seeds[s2]=30")
    // A member without a preset of its own name still accepts it.
    expect(Object.keys(byDefault.presets)).toContain("small")
    const unknown = await Effect.runPromise(Effect.flip(loadPipeline(file, REPO, "lrage")))
    expect(unknown._tag).toBe("UnknownNameError")
    expect(unknown.message).toContain('"large"')
  })

  it("rejects a family whose default is not a member", () => {
    const p = Pipeline.make("x").build()
    expect(() => Pipeline.family("x", { a: p }, "b" as "a")).toThrow(/default member "b" is not one of "a"/)
  })
})
