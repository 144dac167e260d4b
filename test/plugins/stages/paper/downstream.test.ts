/**
 * `paper/evaluate` and its closed-form ridge probe (`probe.ts`).
 *
 * Probe, against independent references: a 1-D problem solved by hand; a
 * random 3-class problem against ridge solved as an augmented least-squares
 * problem by tfjs's QR (another algorithm); a linearly separable feature set
 * (100 % on fresh points); a constant feature dropped; bad inputs refused by
 * field.
 *
 * Stage, on a micro student trained by `paper/train-student` on
 * synthetic-shapes: the `head` protocol on synthetic-shapes equals the `top1`
 * helper, its per-class accuracy a hand count of an independent forward pass,
 * its k-NN top-1 `knnClassify` on `extractFeatures`; the `linear-probe`
 * protocol on synthetic-counting equals the probe fitted on independently
 * extracted features; an RGB 32 px set fails naming the dataset and the
 * channels, and with `rgbToGrey` is converted and resized; labels default
 * from the record; nothing leaks.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { knnClassify } from "../../../../plugins/analysis/knn.ts"
import type { ImageSet } from "../../../../plugins/datasets/ImageSet.ts"
import { forward } from "../../../../plugins/models/vit/forward.ts"
import { disposeVit } from "../../../../plugins/models/vit/model.ts"
import { top1 as headTop1 } from "../../../../plugins/stages/paper/adaptStep.ts"
import { trainStudent } from "../../../../plugins/stages/paper/baselines.ts"
import type { DistilledStudentValue } from "../../../../plugins/stages/paper/distilledArtifact.ts"
import { defaultLabel, evaluate, rgbToGreySet } from "../../../../plugins/stages/paper/downstream.ts"
import { accuracyPerClass, fitRidgeProbe, ProbeInputError, probePredict, type RidgeProbe } from "../../../../plugins/stages/paper/probe.ts"
import { extractFeatures } from "../../../../plugins/stages/teachers/analysis/features.ts"
import { teacherInput, teacherLoader } from "../../../../plugins/teachers/inputs.ts"
import { loadSplit } from "../../../../plugins/datasets/splits.ts"
import { Rng } from "../../../../plugins/datasets/prng.ts"
import { modelFromWeights } from "../../../../plugins/teachers/artifact.ts"
import { runStage, selectTestBackend, type StageRun } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-downstream-"))

beforeAll(selectTestBackend)

const fitted = (r: RidgeProbe | ProbeInputError): RidgeProbe => {
  if (r instanceof ProbeInputError) throw new Error(r.message)
  return r
}

describe("fitRidgeProbe (closed-form ridge on standardized features, one-hot targets)", () => {
  it("solves a 1-D problem as computed by hand", () => {
    // x = 0, 1, 2, 3, labels 0, 0, 1, 1: mean 1.5, std √1.25, z = ±1/√5, ±3/√5; ZᵀZ/N = 1;
    // ZᵀY/N = (-4/√5, +4/√5)/4 = ∓1/√5; W = ∓(1/√5)/(1 + λ); b = (1/2, 1/2).
    const lambda = 0.25
    const p = fitted(fitRidgeProbe(Float32Array.from([0, 1, 2, 3]), Int32Array.from([0, 0, 1, 1]), 1, 2, lambda))
    expect(p.mean[0]).toBeCloseTo(1.5, 12)
    expect(p.invStd[0]).toBeCloseTo(1 / Math.sqrt(1.25), 12)
    expect(p.weights[0]).toBeCloseTo(-1 / Math.sqrt(5) / 1.25, 12)
    expect(p.weights[1]).toBeCloseTo(1 / Math.sqrt(5) / 1.25, 12)
    expect([...p.bias]).toEqual([0.5, 0.5])
    expect([...probePredict(p, Float32Array.from([-1, 1.4, 1.6, 10]))]).toEqual([0, 0, 1, 1])
  })

  it("equals ridge solved as augmented least squares by QR (tfjs), on a random 3-class problem", () => {
    const n = 60
    const d = 6
    const k = 3
    const lambda = 0.05
    const rng = Rng.seeded(11)
    const x = Float32Array.from({ length: n * d }, (_, i) => rng.normal() * (1 + (i % d)) + (i % d))
    const labels = Int32Array.from({ length: n }, (_, i) => i % k)
    const p = fitted(fitRidgeProbe(x, labels, d, k, lambda))
    // Reference: standardize independently, then min ||Z W - Yc||² + Nλ||W||² as [Z; √(Nλ) I] W = [Yc; 0] via QR.
    const ref = tf.tidy(() => {
      const xt = tf.tensor2d(x, [n, d])
      const { mean, variance } = tf.moments(xt, 0)
      const z = tf.div(tf.sub(xt, mean), tf.sqrt(variance))
      const y = tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), k), "float32")
      const yc = tf.sub(y, tf.mean(y, 0))
      const a = tf.concat([z, tf.mul(tf.eye(d), Math.sqrt(n * lambda))], 0)
      const b = tf.concat([yc, tf.zeros([d, k])], 0)
      const [q, r] = tf.linalg.qr(a)
      const qtb = tf.matMul(q, b, true, false)
      // Back substitution on the upper-triangular R [d, d].
      const rr = r.arraySync() as Array<Array<number>>
      const c = qtb.arraySync() as Array<Array<number>>
      const w = Array.from({ length: d }, () => new Array<number>(k).fill(0))
      for (let i = d - 1; i >= 0; i--) {
        for (let j = 0; j < k; j++) {
          let s = c[i]?.[j] ?? 0
          for (let l = i + 1; l < d; l++) s -= (rr[i]?.[l] ?? 0) * (w[l]?.[j] ?? 0)
          w[i]![j] = s / (rr[i]?.[i] ?? 1)
        }
      }
      return w
    })
    for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) expect(Math.abs((p.weights[i * k + j] ?? NaN) - (ref[i]?.[j] ?? NaN)), `W[${i}][${j}]`).toBeLessThan(2e-4)
    expect([...p.bias].map((v) => v * 3)).toEqual([1, 1, 1])
  })

  it("separates a linearly separable set: 100 % on fresh points; a constant feature is dropped", () => {
    // Class c: a point near a distinct corner of a 4-D cube (margin >> noise), plus a constant 5th feature.
    const make = (n: number, seed: number) => {
      const rng = Rng.seeded(seed)
      const labels = Int32Array.from({ length: n }, (_, i) => i % 4)
      const x = new Float32Array(n * 5)
      labels.forEach((c, i) => {
        for (let j = 0; j < 4; j++) x[i * 5 + j] = (j === c ? 3 : 0) + 0.3 * rng.normal()
        x[i * 5 + 4] = 7
      })
      return { x, labels }
    }
    const train = make(80, 1)
    const test = make(200, 2)
    const p = fitted(fitRidgeProbe(train.x, train.labels, 5, 4, 0.01))
    expect(p.invStd[4]).toBe(0)
    expect(accuracyPerClass(probePredict(p, train.x), train.labels, 4).top1).toBe(1)
    expect(accuracyPerClass(probePredict(p, test.x), test.labels, 4)).toEqual({ top1: 1, perClass: [1, 1, 1, 1] })
  })

  it("refuses bad inputs naming the field", () => {
    const r = (f: Float32Array, l: Int32Array, d: number, k: number, lambda: number) => {
      const out = fitRidgeProbe(f, l, d, k, lambda)
      return out instanceof ProbeInputError ? out.message : "fitted"
    }
    expect(r(Float32Array.from([1, 2]), Int32Array.from([0, 1]), 1, 2, 0)).toBe("linear probe: lambda is 0; expected a finite number > 0")
    expect(r(Float32Array.from([1, 2, 3]), Int32Array.from([0, 1]), 1, 2, 1)).toBe("linear probe: features is 3 values; expected 2 (2 rows x 1)")
    expect(r(Float32Array.from([1, 2]), Int32Array.from([0, 2]), 1, 2, 1)).toBe("linear probe: labels[1] is 2; expected a class in 0..1")
    expect(r(Float32Array.from([1, Number.NaN]), Int32Array.from([0, 1]), 1, 2, 1)).toBe("linear probe: features[1] is NaN; expected a finite number")
  })

  it("counts accuracy per class by hand", () => {
    const { top1, perClass } = accuracyPerClass(Int32Array.from([0, 1, 1, 2, 2, 0]), Int32Array.from([0, 0, 1, 2, 2, 2]), 4)
    expect(top1).toBe(4 / 6)
    expect(perClass).toEqual([1 / 2, 1, 2 / 3, 0])
  })
})

describe("rgbToGreySet and defaultLabel", () => {
  it("converts RGB bytes with BT.601 luma", () => {
    // Two 1x1 RGB images, CHW each: (255, 0, 0) and (100, 0, 255).
    const set: ImageSet = { name: "t", split: "test", images: Uint8Array.from([255, 0, 0, 100, 0, 255]), labels: Int32Array.from([0, 1]), count: 2, channels: 3, height: 1, width: 1, classes: ["a", "b"] }
    const grey = rgbToGreySet(set)
    expect(grey.channels).toBe(1)
    expect([...grey.images]).toEqual([76, 59]) // round(0.299·255) = 76, round(0.299·100 + 0.114·255) = round(58.97) = 59
  })

  it("labels rows ours / baseline / kd-<teacher>", () => {
    const t = (teacher: string) => ({ role: "teacher", teacher, mode: "frozen", trainable: 0 })
    expect(defaultLabel({ method: "joint", teachers: [t("a"), t("b")] })).toBe("ours")
    expect(defaultLabel({ method: "student-alone", teachers: [] })).toBe("baseline")
    expect(defaultLabel({ method: "kd-single", teachers: [t("DINO (random init)")] })).toBe("kd-dino")
    expect(defaultLabel({ method: "kd-single", teachers: [t("mae")] })).toBe("kd-mae")
  })
})

describe("paper/evaluate", () => {
  let student: DistilledStudentValue
  beforeAll(async () => {
    student = await Effect.runPromise(
      runStage(trainStudent, { dataset: "synthetic-shapes", trainCount: 64, batchSize: 16, epochs: 2, lr: 0.003, cropScaleMin: 0.5, seed: 3 }, {}, { scratchDir: await tmp() }),
    )
  }, 60_000)

  /** Features [N, D] of a split, extracted by the k-NN stage's own path. */
  const features = async (set: ImageSet) => {
    const model = await Effect.runPromise(modelFromWeights(student))
    try {
      return await Effect.runPromise(Effect.gen(function* () {
        return yield* extractFeatures(model, student.info, yield* teacherLoader("test", set, student.info, 32), set.count, "cls")
      }))
    } finally {
      disposeVit(model)
    }
  }

  it("head protocol: the top1 helper's value, per-class accuracy by hand, k-NN as knnClassify, nothing leaked", async () => {
    const record: StageRun = { logs: [], progress: [] }
    const before = tf.memory().numTensors
    const r = await Effect.runPromise(runStage(evaluate, { dataset: "synthetic-shapes", trainCount: 60, testCount: 40, k: 5, batchSize: 16 }, { model: student }, { scratchDir: await tmp(), record }))
    expect(tf.memory().numTensors).toBe(before)
    expect(r).toMatchObject({ label: "baseline", model: "vitMicroPatch7_28 student alone (CE, no KD)", dataset: "synthetic-shapes", protocol: "head", trainImages: 60, testImages: 40, seed: 3 })
    expect(r.classes).toEqual(student.distillation.classes)
    expect(r.trainingSeconds).toBe(student.distillation.seconds)
    expect(r.seconds).toBeGreaterThan(0)
    const { set: test } = await Effect.runPromise(loadSplit("synthetic-shapes", "test", 40))
    const { set: train } = await Effect.runPromise(loadSplit("synthetic-shapes", "train", 60))
    const model = await Effect.runPromise(modelFromWeights(student))
    const expectedTop1 = await Effect.runPromise(Effect.gen(function* () {
      return yield* headTop1(model, student.info, yield* teacherLoader("test", test, student.info, 7))
    }))
    // Independent forward over the whole test split at once; hand count per class.
    const loader = await Effect.runPromise(teacherLoader("test", test, student.info, 40))
    const predicted = tf.tidy(() => Array.from(tf.argMax(forward(model, teacherInput(loader.batch(0, 0).images, student.info)), 1).dataSync()))
    disposeVit(model)
    expect(r.top1).toBe(expectedTop1)
    const right = new Array<number>(10).fill(0)
    const seen = new Array<number>(10).fill(0)
    test.labels.forEach((y, i) => {
      seen[y]!++
      if (predicted[i] === y) right[y]!++
    })
    expect(r.perClass).toEqual(right.map((x, c) => x / seen[c]!))
    expect(r.top1).toBe(right.reduce((a, b) => a + b, 0) / 40)
    const [trainF, testF] = [await features(train), await features(test)]
    const knn = await Effect.runPromise(Effect.acquireUseRelease(
      Effect.sync(() => [tf.tensor2d(trainF, [60, 32]), tf.tensor2d(testF, [40, 32])] as const),
      ([a, b]) => knnClassify({ trainFeatures: a, trainLabels: train.labels, testFeatures: b, testLabels: test.labels }, { numClasses: 10, k: 5 }),
      (ts) => Effect.sync(() => tf.dispose([...ts])),
    ))
    expect(r.knnTop1).toBe(knn.top1)
    expect(record.logs.at(-1)).toMatch(/^paper\/evaluate: baseline \(vitMicroPatch7_28 student alone \(CE, no KD\)\) on synthetic-shapes: head top-1 \d+\.\d\d%, k-NN top-1/)
  })

  it("linear-probe protocol on other classes: the probe fitted on independently extracted features; label from config", async () => {
    const before = tf.memory().numTensors
    const r = await Effect.runPromise(runStage(evaluate, { dataset: "synthetic-counting", trainCount: 100, testCount: 50, k: 10, label: "mine", ridge: 0.1 }, { model: student }, { scratchDir: await tmp() }))
    expect(tf.memory().numTensors).toBe(before)
    expect(r).toMatchObject({ label: "mine", protocol: "linear-probe", classes: ["one", "two", "three", "four", "five"], trainImages: 100, testImages: 50 })
    const { set: train } = await Effect.runPromise(loadSplit("synthetic-counting", "train", 100))
    const { set: test } = await Effect.runPromise(loadSplit("synthetic-counting", "test", 50))
    const probe = fitted(fitRidgeProbe(await features(train), train.labels, 32, 5, 0.1))
    const expected = accuracyPerClass(probePredict(probe, await features(test)), test.labels, 5)
    expect(r.top1).toBe(expected.top1)
    expect(r.perClass).toEqual(expected.perClass)
    // Balanced test split (10 per class): top-1 is the mean of the per-class accuracies.
    expect(r.top1).toBeCloseTo(r.perClass.reduce((a, b) => a + b, 0) / 5, 12)
    expect(r.top1).toBeGreaterThan(0.2) // above chance (1/5) on counting blobs
  })

  it("an RGB dataset on a grey model fails naming the dataset and the channels; with rgbToGrey it is converted and resized", async () => {
    const exit = await Effect.runPromiseExit(runStage(evaluate, { dataset: "synthetic-colors", trainCount: 12, testCount: 12, k: 3 }, { model: student }, { scratchDir: await tmp() }))
    expect(Exit.isFailure(exit)).toBe(true)
    const text = String(Exit.isFailure(exit) ? exit.cause : "")
    expect(text).toContain("DownstreamChannelMismatch")
    expect(text).toContain(`stage paper/evaluate: dataset synthetic-colors has 3 channels but model ${student.info.teacher} takes 1; set rgbToGrey: true`)
    const record: StageRun = { logs: [], progress: [] }
    const before = tf.memory().numTensors
    const r = await Effect.runPromise(runStage(evaluate, { dataset: "synthetic-colors", trainCount: 12, testCount: 12, k: 3, rgbToGrey: true }, { model: student }, { scratchDir: await tmp(), record }))
    expect(tf.memory().numTensors).toBe(before)
    expect(r).toMatchObject({ protocol: "linear-probe", testImages: 12, classes: ["red", "green", "blue", "yellow", "cyan", "magenta"] })
    expect(record.logs).toContain("paper/evaluate: synthetic-colors images are 32x32; resized (bilinear) to the model's 28x28")
    expect(record.logs.some((l) => l.includes("converted from RGB to grey"))).toBe(true)
  })

  it("refuses k above the training images, naming the field", async () => {
    const exit = await Effect.runPromiseExit(runStage(evaluate, { dataset: "synthetic-shapes", trainCount: 4, testCount: 4, k: 20 }, { model: student }, { scratchDir: await tmp() }))
    expect(String(Exit.isFailure(exit) ? exit.cause : "succeeded")).toMatch(/k.*20.*1\.\.4/)
  })
})
