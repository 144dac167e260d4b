/**
 * The fused attention core (native/src/attention.cc, `SslKdAttention` and
 * its gradient) through plugins/models/ops/attention.ts: the output, the
 * attention maps and the gradients of both (with respect to the input and
 * every weight) on the native backend against the composite tfjs path on
 * tfjs-backend-cpu; the kernel's own gradient against central finite
 * differences (float64 arithmetic on the host from the kernel's float32
 * forward); shapes that do not split into heads fail with a TypeError naming
 * the shape; no tensor is left behind. (The op takes the fused path on the
 * native backend unless SSL_KD_NATIVE_ATTENTION=composite.)
 */
import * as tf from "@tensorflow/tfjs-core"
import { afterAll, beforeAll, expect, it } from "vitest"
import { attention, type AttentionParams } from "../../../plugins/models/ops/attention.ts"
import { fusedAttentionEnabled, fusedKernelNames, hasFusedKernel } from "../../../runtime/backend/kernels.ts"
import { defaultBackend } from "./allBackends.ts"
import { describeNative, maxRelDiff, randomValues, useBackend } from "./nativeHarness.ts"

const tensor = (shape: Array<number>, seed: number, scale = 1) => tf.mul(tf.tensor(randomValues(shape.reduce((p, d) => p * d, 1), seed), shape), scale)

/** out, attn and the gradients of sum(out·p1) + sum(attn·p2) w.r.t. x and the four weights, as host arrays. */
const run = (b: number, n: number, d: number, heads: number, withAttnLoss: boolean): Array<Float32Array> =>
  tf.tidy(() => {
    const x = tensor([b, n, d], 1)
    const w = [tensor([3 * d, d], 2, 0.3), tensor([3 * d], 3, 0.1), tensor([d, d], 4, 0.3), tensor([d], 5, 0.1)]
    const f = (xi: tf.Tensor, qw: tf.Tensor, qb: tf.Tensor, pw: tf.Tensor, pb: tf.Tensor) =>
      attention(xi, { qkvWeight: qw, qkvBias: qb, projWeight: pw, projBias: pb } satisfies AttentionParams, heads)
    const y = f(x, ...(w as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]))
    const p1 = tensor(y.out.shape, 6)
    const p2 = tensor(y.attn.shape, 7)
    const grads = tf.grads((...a: Array<tf.Tensor>) => {
      const r = f(...(a as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]))
      const lo = tf.sum(tf.mul(r.out, p1))
      return (withAttnLoss ? tf.add(lo, tf.sum(tf.mul(r.attn, p2))) : lo) as tf.Scalar
    })([x, ...w])
    return [y.out, y.attn, ...grads].map((t) => t.dataSync() as Float32Array)
  })

describeNative("fused attention core (SslKdAttention) vs the composite path", () => {
  // The model op takes the fused path unless opted out (fusedAttentionEnabled).
  beforeAll(() => void delete process.env["SSL_KD_NATIVE_ATTENTION"])
  afterAll(async () => {
    const { selectBackend } = await import("../../../runtime/backend/TensorBackend.ts")
    const { Effect } = await import("effect")
    await Effect.runPromise(selectBackend({ flag: defaultBackend.name }))
  })

  it("is registered on the native backend (this addon exports it) and not on cpu; SSL_KD_NATIVE_ATTENTION=composite opts out", async () => {
    await useBackend("native")
    expect(hasFusedKernel(fusedKernelNames.attention)).toBe(true)
    expect(hasFusedKernel(fusedKernelNames.attentionGrad)).toBe(true)
    expect(fusedAttentionEnabled()).toBe(true)
    process.env["SSL_KD_NATIVE_ATTENTION"] = "composite"
    expect(fusedAttentionEnabled()).toBe(false)
    delete process.env["SSL_KD_NATIVE_ATTENTION"]
    await useBackend("cpu")
    expect(hasFusedKernel(fusedKernelNames.attention)).toBe(false)
    expect(fusedAttentionEnabled()).toBe(false)
  })

  for (const [b, n, d, heads, attnLoss] of [[2, 50, 48, 3, true], [3, 13, 72, 3, false], [1, 7, 16, 4, true], [2, 50, 192, 3, true], [2, 50, 60, 3, true], [2, 50, 160, 5, false], [1, 65, 216, 3, true]] as const) {
    it(`matches on [${b}, ${n}, ${d}] with ${heads} heads, gradients of out${attnLoss ? " and attn" : ""}`, async () => {
      await useBackend("cpu")
      const want = run(b, n, d, heads, attnLoss)
      await useBackend("native")
      const before = tf.memory().numTensors
      const got = run(b, n, d, heads, attnLoss)
      expect(tf.memory().numTensors).toBe(before)
      const labels = ["out", "attn", "dx", "dqkvWeight", "dqkvBias", "dprojWeight", "dprojBias"]
      got.forEach((g, i) => expect(maxRelDiff(g, want[i]!), labels[i]).toBeLessThanOrEqual(2e-5))
    })
  }

  it("its gradient w.r.t. qkv matches central finite differences of the kernel", async () => {
    await useBackend("native")
    const [b, n, heads, dh] = [2, 5, 2, 3]
    const qkv0 = randomValues(b * n * 3 * heads * dh, 11)
    const p1 = randomValues(b * n * heads * dh, 12)
    const p2 = randomValues(b * heads * n * n, 13)
    const scale = dh ** -0.5
    const loss = (q: Float32Array): number =>
      tf.tidy(() => {
        const [out, attn] = tf.engine().runKernel(fusedKernelNames.attention, { qkv: tf.tensor3d(q, [b, n, 3 * heads * dh]) }, { heads, scale }) as Array<tf.Tensor>
        const o = out!.dataSync()
        const a = attn!.dataSync()
        let s = 0
        o.forEach((v, i) => (s += v * p1[i]!))
        a.forEach((v, i) => (s += v * p2[i]!))
        return s
      })
    const analytic = tf.tidy(() =>
      tf.grad((q: tf.Tensor) => {
        const [out, attn] = tf.engine().runKernel(fusedKernelNames.attention, { qkv: q }, { heads, scale }) as Array<tf.Tensor>
        return tf.add(tf.sum(tf.mul(out!, tf.tensor(p1, out!.shape))), tf.sum(tf.mul(attn!, tf.tensor(p2, attn!.shape)))) as tf.Scalar
      })(tf.tensor3d(qkv0, [b, n, 3 * heads * dh])).dataSync()
    )
    const h = 1e-2
    const numeric = Float64Array.from(qkv0, (_, i) => {
      const plus = Float32Array.from(qkv0)
      const minus = Float32Array.from(qkv0)
      plus[i]! += h
      minus[i]! -= h
      return (loss(plus) - loss(minus)) / (2 * h)
    })
    expect(maxRelDiff(analytic, numeric)).toBeLessThan(5e-3)
  })

  it("rejects a qkv that does not split into the heads, naming the shape", async () => {
    await useBackend("native")
    expect(() => tf.engine().runKernel(fusedKernelNames.attention, { qkv: tf.zeros([2, 5, 7]) }, { heads: 2, scale: 1 }))
      .toThrow(/qkv \[2, 5, 7\] is not \[batch, tokens, 3 · 2 heads/)
  })
})
