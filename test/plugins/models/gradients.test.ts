/**
 * Analytic gradients against central finite differences (float32, step
 * 1e-2, tolerance 2e-3 relative to the gradient's scale) for the custom
 * matmul, LayerNorm, exact GELU and multi-head attention, on every
 * installed backend; and the matmul gradient's kernels are plain products.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { attention, gelu, layerNorm, matmul } from "../../../plugins/models/index.ts"
import { describeEachBackend } from "../../runtime/backend/allBackends.ts"
import { relError } from "./fixture.ts"
import { numericGrad } from "./numericGrad.ts"

const h = 1e-2
const tol = 2e-3
const rand = (shape: Array<number>, seed: number, scale = 1) => tf.mul(tf.randomNormal(shape, 0, 1, "float32", seed), scale)

/** Checks d f / d args[i] for every i against finite differences; returns the worst relative error. */
const check = (f: (...xs: Array<tf.Tensor>) => tf.Scalar, args: Array<tf.Tensor>): number =>
  Math.max(...args.map((_, i) => {
    const analytic = tf.tidy(() => tf.grads(f)(args)[i]?.dataSync() ?? new Float32Array())
    const fi = (x: tf.Tensor) => f(...args.map((a, j) => (j === i ? x : a)))
    const arg = args[i]
    return arg === undefined ? Infinity : relError(analytic, numericGrad(fi, arg, h))
  }))

describeEachBackend("gradients vs finite differences", () => {
  it("matmul (rank 2 and batched rank 4)", () => {
    tf.tidy(() => {
      const r2 = rand([3, 4], 9)
      expect(check((a, b) => tf.sum<tf.Scalar>(tf.mul(matmul(a!, b!), r2)), [rand([3, 5], 1), rand([5, 4], 2)])).toBeLessThan(tol)
      const r4 = rand([2, 2, 3, 4], 8)
      expect(check((a, b) => tf.sum<tf.Scalar>(tf.mul(matmul(a!, b!), r4)), [rand([2, 2, 3, 5], 3), rand([2, 2, 5, 4], 4)])).toBeLessThan(tol)
    })
  })

  it("matmul's custom gradient equals tfjs's own MatMul gradient", () => {
    tf.tidy(() => {
      const a = rand([2, 3, 6, 5], 11)
      const b = rand([2, 3, 5, 7], 12)
      const r = rand([2, 3, 6, 7], 13)
      const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum<tf.Scalar>(tf.mul(matmul(x, y), r)))([a, b])
      const theirs = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum<tf.Scalar>(tf.mul(tf.matMul(x, y), r)))([a, b])
      ours.forEach((g, i) => expect(relError(g.dataSync(), theirs[i]?.dataSync() ?? [])).toBeLessThan(1e-6))
    })
  })

  it("matmul's backward runs only plain (untransposed) products", async () => {
    const a = rand([4, 6, 5], 21)
    const b = rand([4, 5, 3], 22)
    const info = await tf.profile(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum<tf.Scalar>(matmul(x, y)))([a, b]))
    const products = info.kernels.filter((k) => k.name === "BatchMatMul" || k.name === "_FusedMatMul")
    expect(products.length).toBe(3)
    for (const k of products) {
      const [sa, sb] = k.inputShapes
      expect(sa?.[sa.length - 1], JSON.stringify(k.inputShapes)).toBe(sb?.[sb.length - 2])
    }
    tf.dispose([a, b])
  })

  it("layerNorm with respect to input, weight and bias", () => {
    tf.tidy(() => {
      const r = rand([3, 8], 5)
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum<tf.Scalar>(tf.mul(layerNorm(x, w, b), r))
      expect(check((x, w, b) => f(x!, w!, b!), [rand([3, 8], 6, 2), rand([8], 7), rand([8], 8)])).toBeLessThan(tol)
    })
  })

  it("exact GELU", () => {
    tf.tidy(() => {
      const r = rand([12], 5)
      expect(check((x) => tf.sum<tf.Scalar>(tf.mul(gelu(x!), r)), [rand([12], 6, 2)])).toBeLessThan(tol)
    })
  })

  it("multi-head attention: output and attention map with respect to input and weights", () => {
    tf.tidy(() => {
      const [n, d, heads] = [5, 8, 2]
      const ro = rand([1, n, d], 30)
      const ra = rand([1, heads, n, n], 31)
      const f = (x: tf.Tensor, qkvW: tf.Tensor, projW: tf.Tensor) => {
        const o = attention(x, { qkvWeight: qkvW, qkvBias: tf.zeros([3 * d]), projWeight: projW, projBias: tf.zeros([d]) }, heads)
        return tf.add<tf.Scalar>(tf.sum(tf.mul(o.out, ro)), tf.sum(tf.mul(o.attn, ra)))
      }
      const err = check((x, q, p) => f(x!, q!, p!), [rand([1, n, d], 32), rand([3 * d, d], 33, 0.5), rand([d, d], 34, 0.5)])
      expect(err).toBeLessThan(tol)
    })
  })
})
