/**
 * Registry-driven tests, like timm's tests/test_models.py: every registered
 * variant gets the same checks. Variants up to 28 px: forward shapes of
 * every entry point, a backward pass reaching every parameter, no tensor
 * leaks. 224 px variants: parameter counts against timm's, and ViT-Ti/16 is
 * built and run at batch 1.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import {
  countParams,
  disposeVit,
  trainableNames,
  trainableParams,
  forward,
  forwardFeatures,
  forwardHead,
  forwardIntermediates,
  gridSize,
  models,
} from "../../../plugins/models/index.ts"
import "../../runtime/backend/allBackends.ts"

const names = models.names()
const config = (name: string) => Effect.runSync(models.resolve(name))
const small = names.filter((n) => config(n).imgSize <= 64)

describe("registry", () => {
  it("holds the paper's variants and the small ones", () => {
    for (const n of ["vitTinyPatch16_224", "vitSmallPatch16_224", "vitBasePatch16_224", "vitTinyPatch4_28", "vitMicroPatch7_28"]) {
      expect(names).toContain(n)
    }
  })

  it("counts parameters like timm (ViT-Ti/16 5.72M, ViT-S/16 22.05M, ViT-B/16 86.57M with 1000 classes)", () => {
    expect(countParams(config("vitTinyPatch16_224"))).toBe(5_717_416)
    expect(countParams(config("vitSmallPatch16_224"))).toBe(22_050_664)
    expect(countParams(config("vitBasePatch16_224"))).toBe(86_567_656)
    expect(countParams(config("vitTinyPatch4_28"))).toBe(5_359_882)
  })

  it("counts the reproduction's 7x7-grid teacher and student as their doc comments say (by hand: 12D² + 13D per block)", () => {
    // embeddings: cls D + pos 50·D + patch (16·C + 1)·D; final norm 2D; head 10·D + 10.
    const byHand = (d: number, depth: number, chans: number, classes: number) =>
      depth * (12 * d * d + 13 * d) + (51 + 16 * chans + 1) * d + 2 * d + classes * d + classes
    const gray = (n: string, numClasses = 10) => ({ ...config(n), inChans: 1, numClasses })
    expect(countParams(config("vitMiniPatch4_28"))).toBe(byHand(160, 6, 3, 10))
    expect(countParams(gray("vitMiniPatch4_28"))).toBe(byHand(160, 6, 1, 10))
    expect(countParams(gray("vitMiniPatch4_28"))).toBe(1_868_490)
    expect(countParams(gray("vitMiniPatch4_28", 0))).toBe(1_866_880)
    expect(countParams(gray("vitNanoPatch4_28"))).toBe(byHand(60, 6, 1, 10))
    expect(countParams(gray("vitNanoPatch4_28"))).toBe(268_690)
    expect(countParams(gray("vitMiniPatch4_28")) / countParams(gray("vitNanoPatch4_28"))).toBeCloseTo(6.95, 2)
    for (const n of ["vitMiniPatch4_28", "vitNanoPatch4_28"]) expect(config(n).imgSize / config(n).patchSize).toBe(7)
    expect(config("vitNanoPatch4_28").numHeads).toBe(3)
  })
})

describe("trainable parameter selection (paper, sec. 3.1 and Table 1)", () => {
  const base = config("vitBasePatch16_224")
  it("Partial-1 on ViT-B/16 trains 7.86M parameters, linear evaluation 0.77M, fine-tuning 86.57M", () => {
    const millions = (n: number) => Math.round(n / 10_000) / 100
    expect(millions(countParams(base, trainableNames(base, { lastBlocks: 1, head: true })))).toBe(7.86)
    expect(millions(countParams(base, trainableNames(base, { lastBlocks: 0, head: true })))).toBe(0.77)
    expect(countParams(base, trainableNames(base, { lastBlocks: "all", head: true }))).toBe(86_567_656)
  })

  it("trainableParams picks the last k blocks' variables, the final norm and the head", async () => {
    const model = await Effect.runPromise(models.create("vitMicroPatch7_28"))
    const names = [...trainableParams(model, { lastBlocks: 1, head: true }).keys()]
    expect(names.every((n) => n.startsWith("blocks.1.") || n.startsWith("norm.") || n.startsWith("head."))).toBe(true)
    expect(names.length).toBe(12 + 2 + 2)
    expect([...trainableParams(model, { lastBlocks: 0, head: true, finalNorm: false }).keys()]).toEqual(["head.weight", "head.bias"])
    disposeVit(model)
  })
})

describe.each(small)("variant %s", (name) => {
  it("forward, forwardFeatures, forwardHead, forwardIntermediates: shapes; no leaks", async () => {
    const model = await Effect.runPromise(models.create(name, { seed: 1 }))
    const c = model.config
    const tokens = gridSize(c) ** 2 + 1
    const before = tf.memory().numTensors
    tf.tidy(() => {
      const x = tf.randomNormal([2, c.inChans, c.imgSize, c.imgSize], 0, 1, "float32", 3)
      expect(forward(model, x).shape).toEqual([2, c.numClasses])
      const feats = forwardFeatures(model, x)
      expect(feats.shape).toEqual([2, tokens, c.embedDim])
      expect(forwardHead(model, feats, { preLogits: true }).shape).toEqual([2, c.embedDim])
      const inter = forwardIntermediates(model, x, { indices: [0, -1], attention: true })
      expect(inter.intermediates.map((i) => i.block)).toEqual([0, c.depth - 1])
      for (const i of inter.intermediates) {
        expect(i.tokens.shape).toEqual([2, tokens, c.embedDim])
        expect(i.attn?.shape).toEqual([2, c.numHeads, tokens, tokens])
        const rowSums = tf.sum(i.attn ?? tf.zeros([1]), -1).dataSync()
        for (const s of rowSums) expect(s).toBeCloseTo(1, 5)
      }
      expect(forwardIntermediates(model, x, { indices: [0] }).intermediates[0]?.attn).toBeUndefined()
    })
    expect(tf.memory().numTensors).toBe(before)
    disposeVit(model)
  })

  it("backward reaches every parameter with finite gradients; no leaks", async () => {
    const model = await Effect.runPromise(models.create(name, { seed: 2 }))
    const c = model.config
    const before = tf.memory().numTensors
    tf.tidy(() => {
      const x = tf.randomNormal([2, c.inChans, c.imgSize, c.imgSize], 0, 1, "float32", 4)
      const { value, grads } = tf.variableGrads(() => tf.mean<tf.Scalar>(tf.square(forward(model, x))), [...model.params.values()])
      expect(Number.isFinite(value.dataSync()[0])).toBe(true)
      expect(Object.keys(grads).length).toBe(model.params.size)
      for (const [n, v] of model.params) {
        const g = grads[v.name]
        expect(g?.shape, n).toEqual(v.shape)
        expect(tf.all(tf.isFinite(g ?? tf.zeros([1]))).dataSync()[0], n).toBe(1)
      }
    })
    expect(tf.memory().numTensors).toBe(before)
    disposeVit(model)
  })
})

describe("vitTinyPatch16_224 at full size", () => {
  it("builds with 5,717,416 parameters and runs a 224 px image (batch 1)", async () => {
    const model = await Effect.runPromise(models.create("vitTinyPatch16_224"))
    const total = [...model.params.values()].reduce((n, v) => n + v.size, 0)
    expect(total).toBe(5_717_416)
    const before = tf.memory().numTensors
    const shapes = tf.tidy(() => {
      const out = forwardIntermediates(model, tf.randomNormal([1, 3, 224, 224]), { indices: [-1], attention: true })
      return [forwardHead(model, out.features).shape, out.intermediates[0]?.attn?.shape]
    })
    expect(shapes).toEqual([[1, 1000], [1, 3, 197, 197]])
    expect(tf.memory().numTensors).toBe(before)
    disposeVit(model)
  })
})
