/**
 * bf16 matmuls (bf16 inputs, f32 accumulation and output; AVX512-BF16 or AMX
 * through oneDNN) on the native backend. Stated tolerances:
 *  - one product: within 1e-2 of the output's scale of the f32 product
 *    (bf16 keeps 8 significant bits: 2^-9 relative rounding per input);
 *  - training: 40 Adam steps of the micro ViT on a fixed synthetic batch, from
 *    the same initial weights, give a loss curve within 2% of the f32 curve's
 *    initial loss at every step, and both curves fall below half their start.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { disposeVit, forward, models } from "../../../plugins/models/index.ts"
import { setNativeMatmulPrecision } from "../../../runtime/backend/native/NativeBackend.ts"
import { selectBackend } from "../../../runtime/backend/TensorBackend.ts"
import { defaultBackend } from "./allBackends.ts"
import { bf16SkipReason, maxRelDiff, randomValues, useBackend } from "./nativeHarness.ts"

const lossCurve = async (precision: "f32" | "bf16", steps: number): Promise<Array<number>> => {
  await useBackend("native")
  setNativeMatmulPrecision(precision)
  const model = await Effect.runPromise(models.create("vitMicroPatch7_28", { seed: 3 }))
  const c = model.config
  const images = tf.tensor(randomValues(16 * c.inChans * c.imgSize * c.imgSize, 21), [16, c.inChans, c.imgSize, c.imgSize])
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % c.numClasses), "int32"), c.numClasses))
  const optimizer = tf.train.adam(3e-3)
  const vars = [...model.params.values()]
  const losses: Array<number> = []
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      const loss = optimizer.minimize(() => tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(labels, tf.logSoftmax(forward(model, images))), -1))), true, vars)
      losses.push(loss?.dataSync()[0] ?? NaN)
    })
  }
  optimizer.dispose()
  tf.dispose([images, labels])
  disposeVit(model)
  setNativeMatmulPrecision("f32")
  return losses
}

if (bf16SkipReason !== undefined) console.log(`skipping "native bf16 matmuls": ${bf16SkipReason}`)

describe.skipIf(bf16SkipReason !== undefined)("native bf16 matmuls", () => {
  afterAll(async () => {
    setNativeMatmulPrecision("f32")
    await Effect.runPromise(selectBackend({ flag: defaultBackend.name }))
  })

  it("a product agrees with f32 to 1e-2 of its scale, and is not the f32 product", async () => {
    await useBackend("native")
    const a = tf.tensor(randomValues(200 * 192, 1), [200, 192])
    const b = tf.tensor(randomValues(192 * 300, 2), [192, 300])
    const f32 = tf.matMul(a, b).dataSync()
    setNativeMatmulPrecision("bf16")
    const bf16 = tf.matMul(a, b, false, false).dataSync()
    const bf16t = tf.tidy(() => tf.matMul(a, tf.transpose(b), false, true).dataSync())
    setNativeMatmulPrecision("f32")
    tf.dispose([a, b])
    const err = maxRelDiff(bf16, f32)
    expect(err).toBeLessThan(1e-2)
    expect(err).toBeGreaterThan(1e-6)
    expect(maxRelDiff(bf16t, bf16)).toBe(0)
  })

  it("a 40-step training loss curve matches f32 within 2% of the initial loss", async () => {
    const before = tf.memory().numTensors
    const f32 = await lossCurve("f32", 40)
    const bf16 = await lossCurve("bf16", 40)
    expect(tf.memory().numTensors).toBe(before)
    const start = f32[0] ?? NaN
    const worst = Math.max(...f32.map((l, i) => Math.abs((bf16[i] ?? NaN) - l) / start))
    if (process.env["SSL_KD_REPORT"] !== undefined) console.log(JSON.stringify({ worst, f32, bf16 }))
    expect(worst).toBeLessThan(0.02)
    expect(f32.at(-1)).toBeLessThan(start / 2)
    expect(bf16.at(-1)).toBeLessThan((bf16[0] ?? NaN) / 2)
  })
})
