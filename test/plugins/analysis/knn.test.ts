/**
 * k-NN on frozen features (DINO's eval_knn): a separable toy set is
 * classified perfectly, in one similarity block or many; hand-checked votes
 * (weighted exp(s/T) vs majority) and ties (equal similarities: lower
 * training index first; equal weighted votes: lower class; equal majority
 * counts: the class of the nearest neighbour); typed errors; no leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { expect, it } from "vitest"
import { knnClassify, type KnnInput, type KnnOptions, type KnnResult } from "../../../plugins/analysis/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { seeded } from "../objectives/reference.ts"

const run = (input: KnnInput, o: KnnOptions): Promise<KnnResult> => Effect.runPromise(knnClassify(input, o))

/** Classifies with fresh tensors from plain arrays, disposing them; asserts no leak. */
const classify = async (train: ReadonlyArray<ReadonlyArray<number>>, labels: ReadonlyArray<number>, test: ReadonlyArray<ReadonlyArray<number>>, o: KnnOptions) => {
  const { value, leaked } = await withoutLeaks(async () => {
    const trainFeatures = tf.tensor2d(train.map((r) => [...r]))
    const testFeatures = tf.tensor2d(test.map((r) => [...r]))
    const r = await run({ trainFeatures, trainLabels: Int32Array.from(labels), testFeatures }, o)
    tf.dispose([trainFeatures, testFeatures])
    return r
  })
  expect(leaked).toBe(0)
  return Array.from(value.predictions)
}

describeEachBackend("knnClassify", () => {
  it("separates a toy set of 3 clusters perfectly, in one block or in blocks of 7 rows", async () => {
    const centres = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]
    const noise = seeded(3 * 40 * 4, 41, 0.2)
    const points = Array.from({ length: 120 }, (_, i) => (centres[i % 3] ?? []).map((c, j) => c + (noise[i * 4 + j] ?? 0)))
    const labels = points.map((_, i) => i % 3)
    const { leaked } = await withoutLeaks(async () => {
      const trainFeatures = tf.tensor2d(points.slice(0, 90))
      const testFeatures = tf.tensor2d(points.slice(90))
      const input = { trainFeatures, trainLabels: Int32Array.from(labels.slice(0, 90)), testFeatures, testLabels: Int32Array.from(labels.slice(90)) }
      const one = await run(input, { numClasses: 3 })
      const many = await run(input, { numClasses: 3, maxBlockBytes: 7 * 90 * 4 })
      expect(one.top1).toBe(1)
      expect(many.chunkRows).toBe(7)
      expect(Array.from(many.predictions)).toEqual(Array.from(one.predictions))
      expect((await run(input, { numClasses: 3, k: 1, vote: "majority" })).top1).toBe(1)
      tf.dispose([trainFeatures, testFeatures])
    })
    expect(leaked).toBe(0)
  })

  it("weighted and majority votes differ as computed by hand", async () => {
    // Query (1, 0). Neighbours: class 0 at cos 0.9; class 1 twice at cos 0.5.
    // Weighted: e^(0.9/0.07) ≈ 3.8e5 > 2 e^(0.5/0.07) ≈ 2.5e3 -> 0. Majority: 2 votes to 1 -> 1.
    const train = [[0.9, Math.sqrt(0.19)], [0.5, Math.sqrt(0.75)], [0.5, -Math.sqrt(0.75)], [-1, 0]]
    const labels = [0, 1, 1, 2]
    expect(await classify(train, labels, [[1, 0]], { numClasses: 3, k: 3 })).toEqual([0])
    expect(await classify(train, labels, [[1, 0]], { numClasses: 3, k: 3, vote: "majority" })).toEqual([1])
    // Scale does not matter (cosine on l2-normalized features).
    expect(await classify(train.map((r) => r.map((x) => 5 * x)), labels, [[3, 0]], { numClasses: 3, k: 1 })).toEqual([0])
  })

  it("breaks ties deterministically", async () => {
    // Two identical training rows (equal similarity), labels 3 then 1.
    const train = [[1, 1], [1, 1], [-1, 0]]
    const labels = [3, 1, 0]
    // k = 1: the lower training index ranks first -> 3.
    expect(await classify(train, labels, [[1, 1]], { numClasses: 4, k: 1, vote: "majority" })).toEqual([3])
    expect(await classify(train, labels, [[1, 1]], { numClasses: 4, k: 1 })).toEqual([3])
    // k = 2, weighted: equal weights for classes 1 and 3 -> the lower class, 1.
    expect(await classify(train, labels, [[1, 1]], { numClasses: 4, k: 2 })).toEqual([1])
    // k = 2, majority: one vote each -> the class of the first-ranked neighbour, 3.
    expect(await classify(train, labels, [[1, 1]], { numClasses: 4, k: 2, vote: "majority" })).toEqual([3])
  })

  it("fails with typed errors naming the inputs", async () => {
    const { leaked } = await withoutLeaks(async () => {
      const train = tf.zeros([5, 4])
      const test = tf.zeros([2, 3])
      const labels = Int32Array.from([0, 1, 0, 1, 0])
      const fail = async (input: KnnInput, o: KnnOptions) => {
        const exit = await Effect.runPromiseExit(knnClassify(input, o))
        return Exit.isFailure(exit) ? String(exit.cause) : "succeeded"
      }
      expect(await fail({ trainFeatures: train, trainLabels: labels, testFeatures: test }, { numClasses: 2 })).toMatch(/testFeatures is of shape \[2, 3\]; expected \[Ntest, 4\]/)
      const test4 = tf.zeros([2, 4])
      expect(await fail({ trainFeatures: train, trainLabels: labels, testFeatures: test4 }, { numClasses: 2 })).toMatch(/k = 20 is invalid; expected an integer in 1..5/)
      expect(await fail({ trainFeatures: train, trainLabels: labels.subarray(1), testFeatures: test4 }, { numClasses: 2, k: 1 })).toMatch(/trainLabels is 4 labels; expected 5/)
      expect(await fail({ trainFeatures: train, trainLabels: Int32Array.from([0, 1, 0, 2, 0]), testFeatures: test4 }, { numClasses: 2, k: 1 })).toMatch(/trainLabels\[3\] is 2; expected a class in 0..1/)
      tf.dispose([train, test, test4])
    })
    expect(leaked).toBe(0)
  })
})
