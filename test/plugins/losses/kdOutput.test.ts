/**
 * Eq. 1 (`kd-output`) against a float64 reference: the value, the KL
 * direction (teacher first), the T² factor, the stop-gradient on both
 * teachers, and the student's gradient against finite differences.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { kdOutput, softTargetKl } from "../../../plugins/losses/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { relError } from "../models/fixture.ts"
import { numericGrad } from "../models/numericGrad.ts"
import { kl64, softKl64, softmax64 } from "./reference.ts"

const S = [[1.0, 2.0, -0.5], [0.3, -1.2, 0.8]]
const CL = [[2.0, 0.0, 0.5], [-0.4, 0.9, 0.1]]
const MIM = [[0.0, 3.0, -1.0], [1.5, 0.2, -0.3]]

const value = (r: { total: tf.Scalar }): number => r.total.dataSync()[0] ?? NaN

describeEachBackend("kd-output (eq. 1)", () => {
  it("equals l1·KL(p_CL || p_S) + (1 - l1)·KL(p_MIM || p_S), computed by hand in float64", async () => {
    const { value: got, leaked } = await withoutLeaks(() =>
      tf.tidy(() => {
        const r = kdOutput(tf.tensor2d(S), tf.tensor2d(CL), tf.tensor2d(MIM), { lambda: 0.3 })
        return { total: value(r), cl: r.components.cl?.dataSync()[0], mim: r.components.mim?.dataSync()[0] }
      }))
    expect(leaked).toBe(0)
    const cl = softKl64(S, CL)
    const mim = softKl64(S, MIM)
    expect(got.cl).toBeCloseTo(cl, 5)
    expect(got.mim).toBeCloseTo(mim, 5)
    expect(got.total).toBeCloseTo(0.3 * cl + 0.7 * mim, 5)
  })

  it("is KL(teacher || student), not the reverse", () => {
    // Peaked teacher vs flat student: the two directions differ by ~0.5 nats.
    const s = [[0.0, 0.0, 0.0]]
    const t = [[4.0, 0.0, 0.0]]
    const forward = kl64(softmax64(t[0]!), softmax64(s[0]!))
    const reverse = kl64(softmax64(s[0]!), softmax64(t[0]!))
    expect(Math.abs(forward - reverse)).toBeGreaterThan(0.3)
    const got = tf.tidy(() => softTargetKl(tf.tensor2d(s), tf.tensor2d(t)).dataSync()[0] ?? NaN)
    expect(got).toBeCloseTo(forward, 5)
    expect(Math.abs(got - reverse)).toBeGreaterThan(0.3)
  })

  it("multiplies each KL by T² (Hinton): at T = 2, 4·KL(softmax(z_t/2) || softmax(z_s/2))", () => {
    const got = tf.tidy(() => value(kdOutput(tf.tensor2d(S), tf.tensor2d(CL), tf.tensor2d(MIM), { temperature: 2 })))
    const plain = 0.5 * softKl64(S, CL, 2) / 4 + 0.5 * softKl64(S, MIM, 2) / 4
    expect(got).toBeCloseTo(4 * plain, 5)
    expect(plain).toBeGreaterThan(0.01)
  })

  it("sends no gradient to teacher logits; the student's matches T·(q_S - p_T)/B and finite differences", async () => {
    const { leaked } = await withoutLeaks(() => {
      tf.tidy(() => {
        const s = tf.tensor2d(S)
        const cl = tf.tensor2d(CL)
        const mim = tf.tensor2d(MIM)
        const t = 2
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Scalar => kdOutput(a, b, c, { lambda: 0.5, temperature: t }).total
        const [gs, gcl, gmim] = tf.grads(f)([s, cl, mim])
        expect(Array.from(gcl?.dataSync() ?? [1])).toEqual([0, 0, 0, 0, 0, 0])
        expect(Array.from(gmim?.dataSync() ?? [1])).toEqual([0, 0, 0, 0, 0, 0])
        // d/dz_S of T²·mean_b KL = T·(q_S - p_T)/B per teacher, weighted 1/2 each.
        const expected = S.flatMap((row, b) => {
          const q = softmax64(row, t)
          const p1 = softmax64(CL[b]!, t)
          const p2 = softmax64(MIM[b]!, t)
          return q.map((qk, k) => (t * (0.5 * (qk - (p1[k] ?? 0)) + 0.5 * (qk - (p2[k] ?? 0)))) / S.length)
        })
        const analytic = gs?.dataSync() ?? new Float32Array()
        expect(relError(analytic, expected)).toBeLessThan(1e-4)
        expect(Math.max(...Array.from(analytic, Math.abs))).toBeGreaterThan(1e-3)
        expect(relError(analytic, numericGrad((x) => f(x, cl, mim), s, 1e-2))).toBeLessThan(2e-3)
      })
    })
    expect(leaked).toBe(0)
  })

  it("skips a teacher whose weight is 0 (single-teacher KD), so its logits may be absent", () => {
    const got = tf.tidy(() => {
      const r = kdOutput(tf.tensor2d(S), undefined, tf.tensor2d(MIM), { lambda: 0 })
      return { total: value(r), keys: Object.keys(r.components) }
    })
    expect(got.keys).toEqual(["mim"])
    expect(got.total).toBeCloseTo(softKl64(S, MIM), 5)
  })

  it("names both shapes when teacher and student logits differ", () => {
    tf.tidy(() => {
      expect(() => softTargetKl(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(/teacher logits has shape \[2, 4\]; expected \[2, 3\]/)
    })
  })
})
