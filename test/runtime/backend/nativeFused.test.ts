/**
 * The fused native kernels (runtime/backend/kernels.ts) and the
 * model ops that use them, against the composite tfjs paths they replace:
 * LayerNorm and exact GELU (values and gradients for input, weight, bias),
 * the softmax gradient, products with transposed operands (all four
 * combinations, rank 2 and batched rank 4, values and gradients), and the
 * AdamW update (several steps, decayed and undecayed parameters) against the
 * same optimizer on tfjs-backend-cpu, the Linear layer with its bias inside
 * the product (values and gradients, f32 and bf16 matmuls), and the threaded
 * forms of the large fused kernels (calls alternate 1 and 2 threads while the
 * per-shape tuner explores, each call must match). An addon without the fused exports
 * (built before them) registers none, and the ops keep their composite path.
 * (Finite-difference checks of the same ops run on every backend, native
 * included, in test/plugins/models/gradients.test.ts.)
 */
import * as tf from "@tensorflow/tfjs-core"
import { afterAll, expect, it } from "vitest"
import { gelu, layerNorm } from "../../../plugins/models/index.ts"
import { linear } from "../../../plugins/models/ops/linear.ts"
import { matmul, matmulT, swapLastAxes } from "../../../plugins/models/ops/matmul.ts"
import { setNativeMatmulPrecision } from "../../../runtime/backend/native/NativeBackend.ts"
import { AdamW } from "../../../plugins/training/adamw.ts"
import { loadAddon, type NativeAddon } from "../../../runtime/backend/native/internal/addon.ts"
import { fusedKernels } from "../../../runtime/backend/native/internal/kernels/fused.ts"
import { fusedKernelNames, hasFusedKernel } from "../../../runtime/backend/kernels.ts"
import { defaultBackend } from "./allBackends.ts"
import { bf16SkipReason, describeNative, maxRelDiff, randomValues, useBackend } from "./nativeHarness.ts"

const tensor = (shape: Array<number>, seed: number, scale = 1) =>
  tf.mul(tf.tensor(randomValues(shape.reduce((p, d) => p * d, 1), seed), shape), scale)

/** Value and gradients (w.r.t. every input) of sum(f(...xs) * probe), as plain arrays. */
const withGrads = (f: (...xs: Array<tf.Tensor>) => tf.Tensor, xs: Array<tf.Tensor>, probeSeed = 99): Array<Float32Array> =>
  tf.tidy(() => {
    const y = f(...xs)
    const probe = tensor(y.shape, probeSeed)
    const grads = tf.grads((...a: Array<tf.Tensor>) => tf.sum<tf.Scalar>(tf.mul(f(...a), probe)))(xs)
    return [y, ...grads].map((t) => t.dataSync() as Float32Array)
  })

const expectClose = (got: Array<Float32Array>, want: Array<Float32Array>, tol: number, label: string): void => {
  expect(got.length, label).toBe(want.length)
  got.forEach((g, i) => expect(maxRelDiff(g, want[i] ?? new Float32Array()), `${label} output ${i}`).toBeLessThanOrEqual(tol))
}

const compositeLayerNorm = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps = 1e-6) => {
  const centered = tf.sub(x, tf.mean(x, -1, true))
  const normed = tf.mul(centered, tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps)))
  return tf.add(tf.mul(normed, w), b)
}
/** Softmax with the fused native gradient, as plugins/models/ops/attention.ts uses it. */
const fusedSoftmax = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [logits, save] = args as [tf.Tensor, tf.GradSaveFunc]
  const y = tf.softmax(logits)
  save([y])
  return { value: y, gradFunc: (dy: tf.Tensor, [sy]: Array<tf.Tensor>) => tf.engine().runKernel(fusedKernelNames.softmaxGrad, { y: sy!, dy }) as tf.Tensor }
}) as (logits: tf.Tensor) => tf.Tensor
const compositeGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))

describeNative("fused native kernels vs the composite tfjs paths", () => {
  afterAll(async () => {
    const { selectBackend } = await import("../../../runtime/backend/TensorBackend.ts")
    const { Effect } = await import("effect")
    await Effect.runPromise(selectBackend({ flag: defaultBackend.name }))
  })

  it("registers every fused kernel of this addon on the native backend only", async () => {
    await useBackend("native")
    const addon = loadAddon()
    const exported = "_tag" in addon ? [] : fusedKernels(addon).map(([n]) => n)
    // An addon built before the fused kernels (the lead rebuilds native/build) has none: the ops then run their composite path.
    if (exported.length === 0) console.log(`the loaded addon has no fused kernels (built before them); only the composite paths are compared`)
    for (const name of Object.values(fusedKernelNames)) {
      expect(hasFusedKernel(name), name).toBe(exported.includes(name))
      expect(tf.getKernel(name, "cpu"), name).toBeUndefined()
    }
    await useBackend("cpu")
    expect(hasFusedKernel(fusedKernelNames.gelu)).toBe(false)
  })

  it("an addon built before the fused kernels registers none of them (the ops keep their composite path)", () => {
    const old = { matmul() {}, binary() {}, unary() {}, softmax() {}, reduce() {}, transpose() {}, setThreads() {}, info: () => "old" } as unknown as NativeAddon
    expect(fusedKernels(old)).toEqual([])
    const partial = { ...old, gelu() {}, geluGrad() {} } as unknown as NativeAddon
    expect(fusedKernels(partial).map(([n]) => n)).toEqual([fusedKernelNames.gelu, fusedKernelNames.geluGrad])
  })

  it("LayerNorm: values and gradients for x, weight, bias match the composite path to 1e-5", async () => {
    await useBackend("native")
    for (const [shape, scale] of [[[4, 7, 192], 3], [[3, 8], 1], [[2, 5, 33], 100]] as Array<[Array<number>, number]>) {
      const d = shape[shape.length - 1]!
      const xs = [tensor(shape, 1, scale), tf.add(tensor([d], 2, 0.5), 1), tensor([d], 3)]
      expectClose(withGrads((x, w, b) => layerNorm(x!, w!, b!), xs), withGrads((x, w, b) => compositeLayerNorm(x!, w!, b!), xs), 1e-5, `layerNorm [${shape.join(",")}]`)
      tf.dispose(xs)
    }
  })

  it("exact GELU: values and gradient match the composite path to 1e-6, large and tiny inputs included", async () => {
    await useBackend("native")
    const x = tf.concat([tensor([2, 1000], 4, 3), tf.tile(tf.tensor2d([[-30, -10, -5, -1e-3, 0, 1e-30, 1e-3, 5, 10, 30]]), [2, 1])], 1)
    expectClose(withGrads(gelu, [x]), withGrads(compositeGelu, [x]), 1e-6, "gelu")
    x.dispose()
  })

  it("softmax gradient: the fused kernel matches tfjs's Softmax gradient to 1e-6", async () => {
    await useBackend("native")
    if (!hasFusedKernel(fusedKernelNames.softmaxGrad)) return // an addon built before the fused kernels
    tf.tidy(() => {
      const logits = tensor([2, 3, 7, 50], 5, 4)
      const dy = tensor([2, 3, 7, 50], 6)
      const y = tf.softmax(logits)
      const theirs = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(tf.softmax(l), dy)))(logits)
      const ours = tf.engine().runKernel(fusedKernelNames.softmaxGrad, { y, dy }) as tf.Tensor
      expect(maxRelDiff(ours.dataSync(), theirs.dataSync())).toBeLessThanOrEqual(1e-6)
    })
  })

  it("products with transposed operands: all four combinations, rank 2 and 4, values and gradients", async () => {
    await useBackend("native")
    for (const batch of [[], [2, 3]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = tensor([...batch, ...(ta ? [5, 4] : [4, 5])], 7)
          const b = tensor([...batch, ...(tb ? [6, 5] : [5, 6])], 8)
          const explicit = (x: tf.Tensor, y: tf.Tensor) => matmul(ta ? swapLastAxes(x) : x, tb ? swapLastAxes(y) : y)
          const fused = (x: tf.Tensor, y: tf.Tensor) => matmulT(x, y, ta, tb)
          expectClose(withGrads(fused, [a, b]), withGrads(explicit, [a, b]), 1e-5, `matmulT rank ${batch.length + 2} ${ta} ${tb}`)
          tf.dispose([a, b])
        }
      }
    }
  })

  it("products with transposed operands run no Transpose kernel on the native backend, forward or backward", async () => {
    await useBackend("native")
    const a = tensor([8, 5], 9)
    const w = tensor([6, 5], 10)
    const info = await tf.profile(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum<tf.Scalar>(matmulT(x, y, false, true)))([a, w]))
    expect(info.kernels.filter((k) => k.name === "Transpose")).toEqual([])
    tf.dispose([a, w])
  })

  it("AdamW: five fused steps equal the tfjs ops on tfjs-backend-cpu to 1e-6 (decayed weight, undecayed bias, a skipped step)", async () => {
    const run = async (backend: "native" | "cpu") => {
      await useBackend(backend)
      const params = new Map([
        ["fc.weight", tf.variable(tensor([6, 40], 11), true, `adamw-test-w-${backend}`)],
        ["fc.bias", tf.variable(tensor([40], 12), true, `adamw-test-b-${backend}`)],
      ])
      const opt = new AdamW(params)
      for (let step = 0; step < 5; step++) {
        const grads = new Map([["fc.weight", tensor([6, 40], 20 + step, 0.1)], ...(step === 2 ? [] : [["fc.bias", tensor([40], 30 + step)] as const])])
        opt.step(grads, 1e-2 * (step + 1), 0.05)
        tf.dispose([...grads.values()])
      }
      const out = [...params.values(), ...opt.state().values()].map((t) => Float32Array.from(t.dataSync()))
      opt.dispose()
      tf.dispose([...params.values()])
      return out
    }
    const native = await run("native")
    const cpu = await run("cpu")
    expectClose(native, cpu, 1e-6, "adamw")
  })

  it("Linear with the bias inside the product: values and gradients for x, weight, bias match matmulT + Add (f32 and bf16 matmuls)", async () => {
    await useBackend("native")
    const composite = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
      const [out, inF] = w.shape
      return tf.reshape(tf.add(matmulT(tf.reshape(x, [-1, inF!]), w, false, true), b), [...x.shape.slice(0, -1), out!])
    }
    // bf16 only where this CPU's oneDNN has bf16 matmuls (AVX-512); the f32 half runs everywhere.
    for (const precision of bf16SkipReason === undefined ? ["f32", "bf16"] as const : ["f32"] as const) {
      setNativeMatmulPrecision(precision)
      try {
        for (const shape of [[7, 5], [2, 50, 24]]) {
          const inF = shape[shape.length - 1]!
          const xs = [tensor(shape, 40), tensor([9, inF], 41), tensor([9], 42)]
          expectClose(withGrads((x, w, b) => linear(x!, w!, b!), xs), withGrads((x, w, b) => composite(x!, w!, b!), xs), 1e-5, `linear ${precision} [${shape.join(",")}]`)
          tf.dispose(xs)
        }
      } finally {
        setNativeMatmulPrecision("f32")
      }
    }
    if (hasFusedKernel(fusedKernelNames.linear)) {
      const [x, w, b] = [tensor([8, 5], 43), tensor([6, 5], 44), tensor([6], 45)]
      const info = await tf.profile(() => tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum<tf.Scalar>(linear(p, q, r)))([x, w, b]))
      expect(info.kernels.filter((k) => k.name === "Add" || k.name === "Transpose")).toEqual([])
      tf.dispose([x, w, b])
    }
  })

  it("large LayerNorm, GELU and softmax (threaded when faster): every call matches the composite path", async () => {
    await useBackend("native")
    const x = tensor([1600, 192], 50, 2)
    const [w, b] = [tf.add(tensor([192], 51, 0.5), 1), tensor([192], 52)]
    const logits = tensor([32, 3, 50, 50], 53, 3)
    const want = [withGrads((p, q, r) => compositeLayerNorm(p!, q!, r!), [x, w, b]), withGrads(compositeGelu, [x])]
    await useBackend("cpu")
    const wantSoftmax = withGrads((l) => tf.softmax(l!), [logits])
    await useBackend("native")
    // The per-shape tuner alternates 1 and all threads over its first calls: run each enough times to see both.
    for (let i = 0; i < 8; i++) {
      expectClose(withGrads((p, q, r) => layerNorm(p!, q!, r!), [x, w, b]), want[0]!, 1e-5, `layerNorm call ${i}`)
      expectClose(withGrads(gelu, [x]), want[1]!, 1e-6, `gelu call ${i}`)
      const ours = withGrads((l) => (hasFusedKernel(fusedKernelNames.softmaxGrad) ? fusedSoftmax(l!) : tf.softmax(l!)), [logits])
      expectClose(ours, wantSoftmax, 1e-5, `softmax call ${i}`)
    }
    tf.dispose([x, w, b, logits])
  })
})
