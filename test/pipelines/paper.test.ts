/**
 * The paper pipelines (`pipelines/paper.ts` and the four that share its
 * parts): every scale of every pipeline builds and its configs decode; nodes
 * of the same name in different pipelines get the same cache key (so the
 * cache shares their work); and `paper.ts --preset smoke` runs end to end:
 * five students (baseline, KD from each teacher, one-stage ours, ours-warm)
 * scored on three downstream datasets, the joint teachers' top-1, the
 * report with its summary, a fully cached rerun, and a lambda1 change that
 * reruns only ours, its evaluations and teachers, the export and the report
 * (the teachers, their adaptation and the AC selection are reused).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { Config } from "../../dsl/index.ts"
import type { Pipeline } from "../../dsl/Pipeline.ts"
import ablations from "../../pipelines/ablations.ts"
import attentionDistance from "../../pipelines/attention-distance.ts"
import baselines from "../../pipelines/baselines.ts"
import paper from "../../pipelines/paper.ts"
import preconditions from "../../pipelines/preconditions.ts"
import { scaleNames } from "../../pipelines/scales.ts"
import teacherAdaptation from "../../pipelines/teacher-adaptation.ts"
import { TensorBackend } from "../../runtime/backend/TensorBackend.ts"
import { runPipelineWith, selectTestBackend } from "../plugins/teachers/stageHarness.ts"
import { planPipeline, statuses, tempDir } from "../runtime/harness.ts"

beforeAll(selectTestBackend)

const families = { paper, baselines, "teacher-adaptation": teacherAdaptation, "attention-distance": attentionDistance, ablations, preconditions }

describe("paper pipelines", () => {
  it("every scale of every pipeline builds, with decodable configs and a report gathering what it computed", async () => {
    for (const [name, family] of Object.entries(families)) {
      expect(Object.keys(family.members).sort()).toEqual([...scaleNames].sort())
      expect(family.default).toBe("demo")
      for (const scale of scaleNames) {
        const member: Pipeline<any> = family.members[scale]
        expect(member.name).toBe(name)
        const configs = await Effect.runPromise(Config.resolveConfigs(member, {}))
        expect(configs.size).toBe(member.nodes.length)
        expect(member.nodes.at(-1)?.name).toBe("report")
      }
    }
    const demo = paper.members.demo
    const byStage = (stage: string) => demo.nodes.filter((n) => n.stage.name === stage).map((n) => n.name)
    expect(byStage("paper/evaluate")).toEqual(
      ["baseline", "kd-dino", "kd-mae", "ours", "ours-warm"].flatMap((s) => ["fashion-mnist", "opencv-digits", "openclipart", "skimage-textures"].map((d) => `eval-${s}[${d}]`)),
    )
    const joint = ["ours", "ours-warm", "kd-both", "ours-no-attn"]
    expect(paper.members.fmnist.nodes.filter((n) => n.stage.name === "paper/joint-distill").map((n) => n.name).sort()).toEqual(
      ["", "-s1", "-s2"].flatMap((x) => joint.map((a) => `${a}${x}`)).sort(),
    )
    expect(demo.nodes.find((n) => n.name === "ours")?.inputs).toEqual({ pretrained: ["dino", "mae"], adapted: [], heads: ["ac-dino", "ac-mae"] })
    expect(demo.nodes.find((n) => n.name === "ac-dino")?.stage.name).toBe("paper/ac-select-pretrained")
    expect(byStage("paper/evaluate-teacher")).toContain("top1-ours-mae")
    const x = ablations.members.demo.nodes.filter((n) => n.name.startsWith("x-")).map((n) => n.name)
    expect(x).toEqual(expect.arrayContaining(["x-l1-0", "x-l1-25", "x-l1-75", "x-l1-100", "x-l2-50", "x-l2-100", "x-mae-h0", "x-mae-h2", "x-dino-h0", "x-dino-h2"]))
    expect(paper.members.imagenet.nodes.find((n) => n.name === "dino")?.stage.name).toBe("teachers/load-checkpoint")
    // preconditions: the teacher side of paper.ts, node for node (same configs), no student.
    for (const scale of scaleNames) {
      const full = new Map(paper.members[scale].nodes.map((n) => [n.name, n]))
      const pre = preconditions.members[scale].nodes.filter((n) => n.name !== "report")
      for (const n of pre) expect({ name: n.name, config: n.config }).toEqual({ name: n.name, config: full.get(n.name)?.config })
      expect(pre.filter((n) => n.stage.output.name === "DistilledStudent")).toEqual([])
      const expected = ["top1-mae-partial-1", "top1-dino-full", "attention-dino", "ac-mae", "ac-mae-p1", ...(scale.startsWith("imagenet") ? [] : ["knn-dino", "knn-random"])]
      expect(pre.map((n) => n.name)).toEqual(expect.arrayContaining(expected))
    }
  })

  it("nodes with the same name get the same cache key in every pipeline of a scale", async () => {
    const cache = await tempDir("paper-keys")
    const keys = new Map<string, string>()
    let shared = 0
    for (const family of Object.values(families)) {
      const plan = await planPipeline(cache, family.members.smoke)
      for (const n of plan.nodes) {
        if (n.node.name === "report") continue
        const seen = keys.get(n.node.name)
        if (seen === undefined) keys.set(n.node.name, n.key)
        else {
          shared++
          expect(`${n.node.name} ${n.key}`).toBe(`${n.node.name} ${seen}`)
        }
      }
    }
    expect(shared).toBeGreaterThan(20)
  })

  it("runs the smoke scale end to end; a rerun is cached; a lambda1 change reruns only ours, its evaluations, the export and the report", async () => {
    const cache = await tempDir("paper-smoke")
    const pipeline = paper.members.smoke
    const options = { preset: "smoke", stageServices: TensorBackend.layer({ flag: "wasm" }) }
    const before = tf.memory().numTensors
    const first = await runPipelineWith(cache, pipeline, options)
    expect(tf.memory().numTensors).toBe(before)
    expect(first.ok).toBe(true)
    expect(new Set(Object.values(statuses(first)))).toEqual(new Set(["ran"]))

    const files = await fs.readdir(cache, { recursive: true })
    const read = async (suffix: string) => Promise.all(files.filter((f) => f.endsWith(suffix)).map((f) => fs.readFile(path.join(cache, f))))
    const scores = (await read("value.json")).map((b) => JSON.parse(b.toString()) as { label?: string; protocol?: string; dataset?: string }).filter((v) => v.protocol !== undefined)
    expect(scores).toHaveLength(15)
    expect(new Set(scores.map((s) => s.label))).toEqual(new Set(["baseline", "kd-dino", "kd-mae", "ours", "ours-warm"]))
    expect(scores.filter((s) => s.protocol === "head").map((s) => s.dataset)).toEqual(new Array(5).fill("synthetic-shapes"))
    // Each evaluation records its scores as summary metrics (what `ssl-kd runs` shows and metrics.csv lists).
    const records = (await read("metrics.jsonl")).flatMap((b) => b.toString().trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>))
    const evalMetrics = records.filter((r) => r["epoch"] === undefined && r["step"] === undefined && r["knnTop1"] !== undefined)
    const byTop1 = (a: number, b: number) => a - b
    expect(evalMetrics.map((r) => r["top1"] ?? Number.NaN).sort(byTop1)).toEqual(
      (scores as unknown as ReadonlyArray<{ top1: number }>).map((v) => v.top1 * 100).sort(byTop1),
    )
    const [html] = await read("report.html")
    expect(html?.toString()).toContain("Table 2")
    expect((await read("model.safetensors")).length).toBe(1)
    const reportNode = pipeline.nodes.find((n) => n.name === "report")!
    const [json] = await read("report.json")
    const summary = reportNode.stage.summary?.(new Map([["report.json", new Uint8Array(json!)]])) ?? ""
    expect(summary).toMatch(/Table 2 analog: top-1 \(%\) on synthetic-shapes/)
    for (const label of ["baseline", "kd-dino", "kd-mae", "ours", "ours-warm"]) expect(summary).toContain(label)

    const again = await runPipelineWith(cache, pipeline, options)
    expect(new Set(Object.values(statuses(again)))).toEqual(new Set(["cached"]))

    const changed = await runPipelineWith(cache, pipeline, { ...options, set: { ours: { lambda1: 0.7 } } })
    const reran = Object.entries(statuses(changed)).filter(([, s]) => s === "ran").map(([n]) => n).sort()
    expect(reran).toEqual([
      "eval-ours[synthetic-counting]", "eval-ours[synthetic-shapes]", "eval-ours[synthetic-textures]", "export", "ours", "report",
      "teacher-ours-dino", "teacher-ours-mae", "top1-ours-dino", "top1-ours-mae",
    ])
  }, 300_000)
})
