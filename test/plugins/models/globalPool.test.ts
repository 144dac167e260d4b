/**
 * timm's `global_pool="avg"` (MAE fine-tuning, `models_vit.py`): the final
 * `norm` is the identity, the head sees LayerNorm_fc_norm(mean of the patch
 * tokens, class token excluded); parameters `fc_norm.weight/bias` replace
 * `norm.*` and train under Partial-1. Checked against a hand computation on
 * the block outputs; state conversion from a class-token checkpoint.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { poolingFilter, type FloatTensor } from "../../../plugins/checkpoints/timmFilter.ts"
import { loadVitState } from "../../../plugins/checkpoints/vitCheckpoint.ts"
import {
  countParams,
  createVit,
  disposeVit,
  forwardFeatures,
  forwardHead,
  forwardIntermediates,
  InvalidModelConfig,
  paramSpecs,
  trainableNames,
  validateConfig,
  type VitConfig,
} from "../../../plugins/models/index.ts"
import { modelState, TeacherInfo } from "../../../plugins/teachers/artifact.ts"
import { Schema } from "effect"
import { adaptationCount } from "../../../plugins/training/partial.ts"
import "../../runtime/backend/allBackends.ts"

const token: VitConfig = { imgSize: 28, patchSize: 7, inChans: 1, embedDim: 8, depth: 2, numHeads: 2, mlpRatio: 2, numClasses: 3 }
const avg: VitConfig = { ...token, globalPool: "avg" }

describe("globalPool avg", () => {
  it("has fc_norm in place of norm (timm names and order), the same count, and Partial-1 trains it", () => {
    const names = paramSpecs(avg).map((s) => s.name)
    expect(names.slice(-4)).toEqual(["fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"])
    expect(names.some((n) => n.startsWith("norm."))).toBe(false)
    expect(countParams(avg)).toBe(countParams(token))
    const partial = adaptationCount(avg, { kind: "partial", blocks: 1 }).names
    expect(partial).toContain("fc_norm.weight")
    expect(partial.filter((n) => !n.startsWith("blocks.1."))).toEqual(["fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"])
    expect([...trainableNames(avg, { lastBlocks: 0, head: true, finalNorm: false })]).toEqual(["head.weight", "head.bias"])
  })

  it("pools the mean of the patch tokens (class token excluded) through fc_norm, by hand", () => {
    const model = createVit("avg", avg, 4)
    const d = avg.embedDim
    tf.tidy(() => {
      model.params.get("fc_norm.weight")?.assign(tf.linspace(0.5, 2, d))
      model.params.get("fc_norm.bias")?.assign(tf.linspace(-1, 1, d))
    })
    const images = tf.randomNormal([2, 1, 28, 28], 0, 1, "float32", 9)
    const [feats, last, pooled] = tf.tidy(() => {
      const out = forwardIntermediates(model, images, { indices: [-1] })
      return [forwardFeatures(model, images).arraySync() as Array<Array<Array<number>>>, out.intermediates[0]?.tokens.arraySync() as Array<Array<Array<number>>>, forwardHead(model, forwardFeatures(model, images), { preLogits: true }).arraySync() as Array<Array<number>>]
    })
    // The final norm is the identity: the features are the last block's tokens.
    expect(feats).toEqual(last)
    const w = Array.from(model.params.get("fc_norm.weight")?.dataSync() ?? [])
    const b = Array.from(model.params.get("fc_norm.bias")?.dataSync() ?? [])
    feats.forEach((tokens, i) => {
      const patches = tokens.slice(1)
      const mean = Array.from({ length: d }, (_, k) => patches.reduce((s, t) => s + (t[k] ?? 0), 0) / patches.length)
      const mu = mean.reduce((s, x) => s + x, 0) / d
      const variance = mean.reduce((s, x) => s + (x - mu) ** 2, 0) / d
      const expected = mean.map((x, k) => ((x - mu) / Math.sqrt(variance + 1e-6)) * (w[k] ?? 0) + (b[k] ?? 0))
      expected.forEach((e, k) => expect(pooled[i]?.[k]).toBeCloseTo(e, 4))
    })
    images.dispose()
    disposeVit(model)
  })

  it("a class-token state loads into an avg model as MAE fine-tuning does: norm dropped, fc_norm = 1 / 0", async () => {
    const source = createVit("token", { ...token, numClasses: 0 }, 2)
    const state = new Map<string, FloatTensor>(modelState(source))
    const notes = poolingFilter(state, { ...avg, numClasses: 0 })
    expect(notes.join("\n")).toMatch(/dropped norm.weight, fc_norm.weight = 1/)
    expect(state.has("norm.weight")).toBe(false)
    expect(Array.from(state.get("fc_norm.weight")?.data ?? [])).toEqual(Array(8).fill(1))
    expect(Array.from(state.get("fc_norm.bias")?.data ?? [])).toEqual(Array(8).fill(0))
    const target = createVit("avg", { ...avg, numClasses: 0 }, 5)
    await Effect.runPromise(loadVitState(target, state, "test"))
    expect(Array.from(target.params.get("blocks.1.mlp.fc2.weight")?.dataSync() ?? [])).toEqual(Array.from(source.params.get("blocks.1.mlp.fc2.weight")?.dataSync() ?? []))
    // And back: an avg state into a class-token model maps fc_norm to norm.
    const back = new Map<string, FloatTensor>(modelState(target))
    expect(poolingFilter(back, { ...token, numClasses: 0 }).join("\n")).toMatch(/fc_norm.weight -> norm.weight/)
    disposeVit(source)
    disposeVit(target)
  })

  it("attention maps keep the class token: [B, H, 1 + N, 1 + N], rows summing to 1, under either pooling", () => {
    for (const c of [token, avg]) {
      const model = createVit("m", c, 3)
      const images = tf.randomNormal([2, 1, 28, 28], 0, 1, "float32", 4)
      const [shape, sums] = tf.tidy(() => {
        const attn = forwardIntermediates(model, images, { attention: true, indices: [-1] }).intermediates[0]?.attn ?? tf.zeros([1])
        return [attn.shape, Array.from(tf.sum(attn, -1).dataSync())] as const
      })
      expect(shape).toEqual([2, 2, 17, 17])
      sums.forEach((x) => expect(x).toBeCloseTo(1, 5))
      images.dispose()
      disposeVit(model)
    }
  })

  it("teacher.json written before globalPool existed still decodes (class-token pooling); a new one records it", () => {
    const old = {
      teacher: "dino", family: "contrastive", arch: "vitMicroPatch7_28", config: { ...token, numClasses: 0 },
      normalization: { mean: [0.5], std: [0.5] }, origin: { kind: "random", seed: 0 }, losses: { epochs: [], steps: [] },
    }
    const decoded = Schema.decodeUnknownSync(TeacherInfo)(old)
    expect(decoded.config.globalPool).toBeUndefined()
    expect(paramSpecs(decoded.config).some((s) => s.name === "norm.weight")).toBe(true)
    expect(Schema.decodeUnknownSync(TeacherInfo)({ ...old, config: { ...old.config, globalPool: "avg" } }).config.globalPool).toBe("avg")
    expect(() => Schema.decodeUnknownSync(TeacherInfo)({ ...old, config: { ...old.config, globalPool: "max" } })).toThrow()
  })

  it("a pooling other than token or avg is an InvalidModelConfig naming the field", () => {
    const bad = validateConfig("x", { ...token, globalPool: "max" as unknown as "avg" })
    expect(bad).toBeInstanceOf(InvalidModelConfig)
    expect(bad?.message).toMatch(/globalPool = max/)
  })
})
