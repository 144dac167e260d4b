/**
 * Regression: `extractFeatures` must place image i's feature vector in row i
 * (a bug once advanced the write offset by rows instead of floats, which left
 * k-NN at chance). Each row is compared with a forward pass of that image alone.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { disposeVit, forwardFeatures, forwardHead, models } from "../../../plugins/models/index.ts"
import { extractFeatures } from "../../../plugins/stages/teachers/analysis/features.ts"
import { teacherInput, teacherLoader } from "../../../plugins/teachers/inputs.ts"
import { loadSplit } from "../../../plugins/datasets/splits.ts"
import type { TeacherInfo } from "../../../plugins/teachers/artifact.ts"
import { selectTestBackend } from "./stageHarness.ts"

describe("teacher feature extraction", () => {
  beforeAll(selectTestBackend)

  it("row i is image i's feature, for every batch, both poolings", async () => {
    const before = tf.memory().numTensors
    await Effect.runPromise(
      Effect.gen(function* () {
        const { set } = yield* loadSplit("synthetic-shapes", "train", 10)
        const model = yield* models.create("vitMicroPatch7_28", { seed: 3, numClasses: 0, inChans: set.channels })
        const info: TeacherInfo = {
          teacher: "t",
          family: "other",
          arch: "vitMicroPatch7_28",
          config: model.config,
          normalization: { mean: Array<number>(set.channels).fill(0.5), std: Array<number>(set.channels).fill(0.25) },
          origin: { kind: "random", seed: 3 },
          losses: { epochs: [], steps: [] },
        }
        const d = model.config.embedDim
        for (const pooling of ["cls", "mean-patch"] as const) {
          const feats = yield* extractFeatures(model, info, yield* teacherLoader("t", set, info, 4), set.count, pooling)
          const single = yield* teacherLoader("t", set, info, 1)
          for (let i = 0; i < set.count; i++) {
            const expected = tf.tidy(() => {
              const tokens = forwardFeatures(model, teacherInput(single.batch(0, i).images, info))
              const [n = 0, t = 0] = tokens.shape
              return (pooling === "cls" ? forwardHead(model, tokens, { preLogits: true }) : tf.mean(tf.slice(tokens, [0, 1, 0], [n, t - 1, d]), 1)).dataSync()
            })
            const row = feats.subarray(i * d, (i + 1) * d)
            for (let j = 0; j < d; j++) expect(row[j]).toBeCloseTo(expected[j]!, 4)
          }
        }
        disposeVit(model)
      }),
    )
    expect(tf.memory().numTensors).toBe(before)
  })
})
