/**
 * `pipelines/teachers.ts` at its smoke preset (synthetic shapes,
 * vitMicroPatch7_28, seconds): every stage runs, the k-NN reports and the
 * Figure 1 files (SVG, PNG, JSON with the deep-layer comparison) are written,
 * no tensor is left behind, and a rerun is served entirely from the cache.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, expect, it } from "vitest"
import pipeline from "../../pipelines/teachers.ts"
import { TensorBackend } from "../../runtime/backend/TensorBackend.ts"
import { runPipelineWith, selectTestBackend } from "../plugins/teachers/stageHarness.ts"
import { statuses, tempDir } from "../runtime/harness.ts"

beforeAll(selectTestBackend)

const payloads = async (root: string, name: string) =>
  (await fs.readdir(root, { recursive: true })).filter((f) => f.endsWith(name)).map((f) => path.join(root, f))

it("runs the smoke preset end to end, then serves it from the cache", async () => {
  const cache = await tempDir("teachers-smoke")
  const options = { preset: "smoke", stageServices: TensorBackend.layer({ flag: "wasm" }) }
  const before = tf.memory().numTensors
  const report = await runPipelineWith(cache, pipeline, options)
  expect(tf.memory().numTensors).toBe(before)
  expect(report.ok).toBe(true)
  expect(new Set(Object.values(statuses(report)))).toEqual(new Set(["ran"]))
  const knn = await Promise.all((await payloads(cache, "value.json")).map(async (f) => JSON.parse(await fs.readFile(f, "utf8")) as { top1?: number }))
  const top1 = knn.flatMap((v) => (typeof v.top1 === "number" ? [v.top1] : []))
  expect(top1).toHaveLength(6)
  for (const t of top1) expect(t).toBeGreaterThanOrEqual(0)
  const [png] = await payloads(cache, "figure1.png")
  expect((await fs.readFile(png ?? "")).subarray(1, 4).toString()).toBe("PNG")
  const [json] = await payloads(cache, "figure1.json")
  const figure = JSON.parse(await fs.readFile(json ?? "", "utf8")) as { curves: Array<{ mean: Array<number> }>; contrastiveMoreGlobalInDeepLayers: boolean }
  expect(figure.curves.map((c) => c.mean.length)).toEqual([2, 2, 2])
  expect(typeof figure.contrastiveMoreGlobalInDeepLayers).toBe("boolean")
  const again = await runPipelineWith(cache, pipeline, options)
  expect(new Set(Object.values(statuses(again)))).toEqual(new Set(["cached"]))
})
