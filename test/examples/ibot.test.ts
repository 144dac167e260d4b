/**
 * The third SSL teacher added outside the library (`examples/ibot/`): iBOT's
 * masks and masked-patch loss against hand computation and finite
 * differences, the [MASK] embedding (a masked patch's pixels cannot reach
 * the output), and the three-teacher pipeline at the smoke scale: it runs
 * end to end with iBOT pretrained here and distilled beside DINO and MAE,
 * leaves no tensor behind, and a rerun is served from the cache.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { createDinoNetworks, dinoSchedules, dinoStep, disposeDinoNetworks, Rng } from "../../plugins/index.ts"
import { forwardFeatures } from "../../plugins/models/vit/forward.ts"
import { createVit, disposeVit } from "../../plugins/models/vit/model.ts"
import { teachers } from "../../plugins/teachers/builtins.ts"
import { TensorBackend } from "../../runtime/backend/TensorBackend.ts"
import { ibotPatchLoss, updatePatchCenter } from "../../examples/ibot/loss.ts"
import { batchMasks, blockMask, drawRatio, officialRatios } from "../../examples/ibot/masking.ts"
import { createIbotNetworks, disposeIbotNetworks, IbotPretrainConfig, ibotStep, maskedFeatures } from "../../examples/ibot/teacher.ts"
import threeTeachers from "../../examples/ibot/three-teachers.ts"
import { runPipelineWith, selectTestBackend } from "../plugins/teachers/stageHarness.ts"
import { statuses, tempDir } from "../runtime/harness.ts"

beforeAll(selectTestBackend)

describe("iBOT masks", () => {
  it("blockwise masks reach floor(ratio * N) patches in rectangles, deterministically per seed", () => {
    for (const [h, w, ratio] of [[7, 7, 0.3], [7, 7, 0.5], [14, 14, 0.4], [4, 4, 0.25]] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const out = new Uint8Array(h * w)
        const n = blockMask(Rng.seeded(seed), h, w, ratio, out)
        const again = new Uint8Array(h * w)
        blockMask(Rng.seeded(seed), h, w, ratio, again)
        expect(again).toEqual(out)
        expect(out.reduce((a, b) => a + b, 0)).toBe(n)
        expect(n).toBeLessThanOrEqual(Math.floor(ratio * h * w))
        expect(n).toBeGreaterThan(0)
      }
    }
    expect(blockMask(Rng.seeded(1), 7, 7, 0, new Uint8Array(49))).toBe(0)
    // Blocks, not scattered patches: on 14x14 at 0.3, nearly every masked patch has a masked 4-neighbour
    // (independent random patches at 0.3 would give 1 - 0.7^4 = 76 %).
    let withNeighbour = 0
    let total = 0
    for (let seed = 0; seed < 20; seed++) {
      const m = new Uint8Array(196)
      blockMask(Rng.seeded(100 + seed), 14, 14, 0.3, m)
      for (let i = 0; i < 196; i++) {
        if (m[i] !== 1) continue
        const [r, c] = [Math.floor(i / 14), i % 14]
        const near = [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]].some(([y = -1, x = -1]) => y >= 0 && y < 14 && x >= 0 && x < 14 && m[y * 14 + x] === 1)
        total++
        if (near) withNeighbour++
      }
    }
    expect(withNeighbour / total).toBeGreaterThan(0.9)
  })

  it("the official ratios mask about half the images, each at 0.1-0.5", () => {
    const rng = Rng.seeded(7)
    const ratios = Array.from({ length: 4000 }, () => drawRatio(rng, officialRatios))
    const masked = ratios.filter((r) => r > 0)
    expect(masked.length / ratios.length).toBeGreaterThan(0.46)
    expect(masked.length / ratios.length).toBeLessThan(0.54)
    expect(Math.min(...masked)).toBeGreaterThanOrEqual(0.1)
    expect(Math.max(...masked)).toBeLessThanOrEqual(0.5)
    const batch = batchMasks(Rng.seeded(2), 64, 7, 7, officialRatios)
    const perImage = Array.from({ length: 64 }, (_, b) => batch.slice(b * 49, (b + 1) * 49).reduce((a, x) => a + x, 0))
    expect(perImage.filter((n) => n === 0).length).toBeGreaterThan(16)
    expect(Math.max(...perImage)).toBeLessThanOrEqual(Math.floor(0.5 * 49))
  })
})

describe("iBOT masked-patch loss", () => {
  // V = 2 views, B = 2 images, N = 3 patches, K = 4 prototypes; image 1 of view 1 has no masked patch.
  const shape = [2, 2, 3, 4] as const
  const values = (seed: number) => Array.from({ length: 48 }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2)
  const mask = [1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0] // 1, 2, 3 and 0 masked patches
  const center = [0.1, -0.2, 0.05, 0.3]
  const tt = 0.05
  const st = 0.1

  /** The loss with plain loops, from the definition (independent of the tensor code). */
  const byHand = (s: ReadonlyArray<number>, t: ReadonlyArray<number>): number => {
    let total = 0
    for (let v = 0; v < 2; v++) {
      for (let b = 0; b < 2; b++) {
        let sum = 0
        let count = 0
        for (let n = 0; n < 3; n++) {
          const at = ((v * 2 + b) * 3 + n) * 4
          const te = [0, 1, 2, 3].map((k) => ((t[at + k] ?? 0) - (center[k] ?? 0)) / tt)
          const tm = Math.max(...te)
          const tz = te.reduce((a, x) => a + Math.exp(x - tm), 0)
          const q = te.map((x) => Math.exp(x - tm) / tz)
          const se = [0, 1, 2, 3].map((k) => (s[at + k] ?? 0) / st)
          const sm = Math.max(...se)
          const lz = sm + Math.log(se.reduce((a, x) => a + Math.exp(x - sm), 0))
          const h = -q.reduce((a, qk, k) => a + qk * ((se[k] ?? 0) - lz), 0)
          const m = mask[(v * 2 + b) * 3 + n] ?? 0
          sum += m * h
          count += m
        }
        total += sum / Math.max(1, count)
      }
    }
    return total / 4
  }

  it("equals the definition computed by hand; an image with no masked patch adds 0", () => {
    const s = values(1)
    const t = values(2)
    const loss = tf.tidy(() => ibotPatchLoss(tf.tensor4d(s, [...shape]), tf.tensor4d(t, [...shape]), tf.tensor3d(mask, [2, 2, 3], "int32"), tf.tensor2d(center, [1, 4]), { teacherTemp: tt, studentTemp: st }).dataSync()[0])
    expect(loss).toBeCloseTo(byHand(s, t), 4)
  })

  it("its gradient reaches the student only, and matches finite differences", () => {
    const s = values(3)
    const t = values(4)
    const f = (student: tf.Tensor, teacher: tf.Tensor) =>
      ibotPatchLoss(student, teacher, tf.tensor3d(mask, [2, 2, 3], "int32"), tf.tensor2d(center, [1, 4]), { teacherTemp: tt, studentTemp: st })
    const [gs, gt] = tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b))([tf.tensor4d(s, [...shape]), tf.tensor4d(t, [...shape])]).map((g) => g.arraySync() as number[][][][]))
    expect((gt ?? []).flat(3).every((x) => x === 0)).toBe(true)
    const eps = 1e-3
    for (const i of [0, 5, 13, 22, 47]) {
      const up = [...s]
      const down = [...s]
      up[i] = (up[i] ?? 0) + eps
      down[i] = (down[i] ?? 0) - eps
      const fd = (byHand(up, t) - byHand(down, t)) / (2 * eps)
      expect((gs ?? []).flat(3)[i]).toBeCloseTo(fd, 3)
    }
  })

  it("the patch center moves toward the mean teacher patch output", () => {
    const t = values(5)
    const out = tf.tidy(() => Array.from(updatePatchCenter(tf.tensor2d(center, [1, 4]), tf.tensor4d(t, [...shape]), 0.9).dataSync()))
    for (let k = 0; k < 4; k++) {
      let mean = 0
      for (let r = 0; r < 12; r++) mean += (t[r * 4 + k] ?? 0) / 12
      expect(out[k]).toBeCloseTo(0.9 * (center[k] ?? 0) + 0.1 * mean, 5)
    }
  })
})

describe("iBOT's [MASK] embedding", () => {
  it("replaces masked patches: their pixels do not reach the output; no mask is the plain forward", () => {
    const model = createVit("vitMicroPatch7_28", { imgSize: 28, patchSize: 7, inChans: 1, numClasses: 0, embedDim: 16, depth: 2, numHeads: 2, mlpRatio: 2 }, 0)
    const before = tf.memory().numTensors
    const [same, plain] = tf.tidy(() => {
      const token = tf.randomNormal([1, 16], 0, 1, "float32", 1)
      const a = tf.randomNormal([2, 1, 28, 28], 0, 1, "float32", 2)
      // b differs from a only inside patch 5 (row 1, column 1: pixels 7-13 x 7-13).
      const bump = tf.pad(tf.ones([1, 1, 7, 7]), [[1, 0], [0, 0], [7, 14], [7, 14]])
      const b = tf.add(a, tf.mul(bump, 3))
      const mask = tf.tensor2d(Array.from({ length: 32 }, (_, i) => (i % 16 === 5 ? 1 : 0)), [2, 16], "int32")
      const diffMasked = tf.max(tf.abs(tf.sub(maskedFeatures(model, token, a, mask), maskedFeatures(model, token, b, mask)))).dataSync()[0]
      const diffPlain = tf.max(tf.abs(tf.sub(maskedFeatures(model, token, a, undefined), forwardFeatures(model, a)))).dataSync()[0]
      const changed = tf.max(tf.abs(tf.sub(maskedFeatures(model, token, a, undefined), maskedFeatures(model, token, b, undefined)))).dataSync()[0]
      expect(changed).toBeGreaterThan(1e-3)
      return [diffMasked, diffPlain]
    })
    expect(same).toBeLessThan(1e-5)
    expect(plain).toBe(0)
    expect(tf.memory().numTensors).toBe(before)
    disposeVit(model)
  })
})

describe("three teachers (DINO + MAE + iBOT)", () => {
  it("runs at the smoke scale: iBOT registered and pretrained here, ours-3 trains all three; no tensor left; a rerun is cached", async () => {
    expect(teachers.names()).toContain("ibot")
    const cache = await tempDir("three-teachers")
    const pipeline = threeTeachers.members.smoke
    const options = { preset: "smoke", stageServices: TensorBackend.layer({ flag: "wasm" }) }
    const before = tf.memory().numTensors
    const first = await runPipelineWith(cache, pipeline, options)
    expect(tf.memory().numTensors).toBe(before)
    expect(first.ok).toBe(true)
    expect(new Set(Object.values(statuses(first)))).toEqual(new Set(["ran"]))
    const files = await fs.readdir(cache, { recursive: true })
    const runs = await Promise.all(files.filter((f) => f.endsWith("distillation.json")).map(async (f) => JSON.parse((await fs.readFile(path.join(cache, f))).toString()) as { teachers: ReadonlyArray<{ teacher: string; mode: string; start: string; head?: number }> }))
    const three = runs.find((r) => r.teachers.length === 3)
    expect(three?.teachers.map((t) => `${t.teacher}:${t.mode}:${t.start}`)).toEqual(["dino:partial-1:pretrained", "mae:partial-1:pretrained", "ibot:partial-1:pretrained"])
    expect(three?.teachers[2]?.head).toBeTypeOf("number")
    const pretrainLosses = files.filter((f) => f.endsWith("teacher.json"))
    expect(pretrainLosses.length).toBeGreaterThan(0)
    const again = await runPipelineWith(cache, pipeline, options)
    expect(new Set(Object.values(statuses(again)))).toEqual(new Set(["cached"]))
  }, 300_000)
})

describe("iBOT step", () => {
  it("with no mask and lambda2 = 0 is DINO's step (BatchNorm head included): same losses, same teacher after 3 steps", () => {
    const vit = { imgSize: 28, patchSize: 7, inChans: 1, numClasses: 0, embedDim: 16, depth: 2, numHeads: 2, mlpRatio: 2 }
    const c = Schema.decodeUnknownSync(IbotPretrainConfig)({ arch: "vitMicroPatch7_28", outDim: 64, headHiddenDim: 32, headBottleneckDim: 16, headUseBn: true, epochs: 2, batchSize: 4, lambda2: 0, freezeLastLayerEpochs: 0 })
    const before = tf.memory().numTensors
    const dino = createDinoNetworks("vitMicroPatch7_28", vit, c)
    const ibot = createIbotNetworks("vitMicroPatch7_28", vit, c)
    const schedules = dinoSchedules(c, 3)
    const view = (size: number, seed: number) => ({ data: Float32Array.from({ length: 4 * size * size }, (_, i) => Math.sin(seed * 7.1 + i * 0.37)), shape: [4, 1, size, size] as const })
    const losses: Array<[number, number]> = []
    for (let step = 0; step < 3; step++) {
      const views = [view(28, step), view(28, step + 10), view(14, step + 20), view(14, step + 30)]
      losses.push([dinoStep(dino, c, views, 0, step, schedules), ibotStep(ibot, c, views, new Uint8Array(2 * 4 * 16), 0, step, { ...schedules, patchTemp: schedules.teacherTemp })])
    }
    for (const [d, i] of losses) expect(i).toBeCloseTo(d, 4)
    let maxDiff = 0
    for (const [k, t] of dino.teacherParams) maxDiff = Math.max(maxDiff, tf.tidy(() => tf.max(tf.abs(tf.sub(t, ibot.teacherParams.get(k)!))).dataSync()[0] ?? Infinity))
    expect(maxDiff).toBeLessThan(1e-5)
    disposeDinoNetworks(dino)
    disposeIbotNetworks(ibot)
    expect(tf.memory().numTensors).toBe(before)
  })
})
