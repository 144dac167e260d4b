/**
 * `npm run setup`'s check of the native kernels: one training step of a
 * small ViT (vitMicroPatch7_28: 2 blocks, width 32, 4 heads; batch 8 of
 * seeded random images) on the wasm backend and on the native backend from
 * the same weights, comparing the cross-entropy loss and the global norm of
 * its gradient. Prints one JSON line `{ ok, wasmLoss, nativeLoss, lossRelDiff,
 * gradNormRelDiff, millis }` (or `{ ok: false, reason }`); exit 0 when they
 * agree within tolerance, 1 when not, 2 when a backend cannot be used.
 *
 * The tolerance (1e-4 relative on the loss, 1e-3 on the gradient norm) is
 * float32 round-off for different summation orders at this size, far below
 * what a wrong kernel gives (a wrong matmul or softmax moves the loss by
 * more than 1e-2 relative).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { selectBackend } from "../runtime/backend/TensorBackend.ts"
import { crossEntropy } from "../plugins/losses/ce.ts"
import { vitMicroPatch7_28 } from "../plugins/models/variants.ts"
import { forward } from "../plugins/models/vit/forward.ts"
import { createVit, disposeVit } from "../plugins/models/vit/model.ts"

const LOSS_TOLERANCE = 1e-4
const GRAD_TOLERANCE = 1e-3

interface Step {
  readonly loss: number
  readonly gradNorm: number
}

const step = (weights: ReadonlyMap<string, { shape: Array<number>; data: Float32Array }>, images: Float32Array, labels: Int32Array): Step => {
  const vars = new Map([...weights].map(([name, w]) => [name, tf.variable(tf.tensor(w.data, w.shape), true, `check/${tf.getBackend()}/${name}`)]))
  try {
    const model = { arch: "vitMicroPatch7_28", config: vitMicroPatch7_28, params: vars }
    const x = tf.tensor4d(images, [8, 3, 28, 28])
    const y = tf.tensor1d(labels, "int32")
    const { value, grads } = tf.variableGrads(() => crossEntropy(forward(model, x), y), [...vars.values()])
    const loss = value.dataSync()[0]!
    let sq = 0
    for (const g of Object.values(grads)) for (const v of g.dataSync()) sq += v * v
    tf.dispose([x, y, value, ...Object.values(grads)])
    return { loss, gradNorm: Math.sqrt(sq) }
  } finally {
    for (const v of vars.values()) v.dispose()
  }
}

const main = async () => {
  const t0 = performance.now()
  const use = (flag: "wasm" | "native") => Effect.runPromise(Effect.result(selectBackend({ flag })))
  const wasm = await use("wasm")
  if (wasm._tag === "Failure") return { code: 2, out: { ok: false, reason: `wasm backend: ${wasm.failure.message}` } }
  const model = createVit("vitMicroPatch7_28", vitMicroPatch7_28, 0)
  const weights = new Map([...model.params].map(([n, v]) => [n, { shape: [...v.shape], data: v.dataSync() as Float32Array }]))
  disposeVit(model)
  // Seeded inputs (a linear congruential stream), the same on both backends.
  let s = 12345
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32)
  const images = Float32Array.from({ length: 8 * 3 * 28 * 28 }, () => rand() * 2 - 1)
  const labels = Int32Array.from({ length: 8 }, (_, i) => i % 10)
  const ref = step(weights, images, labels)
  const native = await use("native")
  if (native._tag === "Failure") return { code: 2, out: { ok: false, reason: `native backend: ${native.failure.message}` } }
  const got = step(weights, images, labels)
  const lossRelDiff = Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)
  const gradNormRelDiff = Math.abs(got.gradNorm - ref.gradNorm) / ref.gradNorm
  const ok = Number.isFinite(got.loss) && lossRelDiff <= LOSS_TOLERANCE && gradNormRelDiff <= GRAD_TOLERANCE
  return {
    code: ok ? 0 : 1,
    out: { ok, wasmLoss: ref.loss, nativeLoss: got.loss, lossRelDiff, gradNormRelDiff, tolerance: { loss: LOSS_TOLERANCE, gradNorm: GRAD_TOLERANCE }, millis: Math.round(performance.now() - t0) },
  }
}

const r = await main().catch((e: unknown) => ({ code: 2, out: { ok: false, reason: e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e) } }))
process.stdout.write(`${JSON.stringify(r.out)}\n`)
process.exitCode = r.code
