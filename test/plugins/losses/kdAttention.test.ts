/**
 * Eq. 3 (`kd-attention`) against a float64 row-by-row reference: the value
 * with both terms, the student heads used (A1_S = head 0, A2_S = head 1), the
 * AC-selected teacher heads, zeros in the maps, the KL direction, the
 * stop-gradient on teacher maps, the student's gradient against finite
 * differences, and the token-count mismatch error.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { AttentionTokenMismatch, attentionKl, kdAttention } from "../../../plugins/losses/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { relError } from "../models/fixture.ts"
import { numericGrad } from "../models/numericGrad.ts"
import { rowKl64 } from "./reference.ts"

type Maps = Array<Array<Array<Array<number>>>>
/** Rows that sum to 1, [B=2][H][T=3][T=3]. */
const row = (a: number, b: number): Array<number> => [a, b, 1 - a - b]
const student: Maps = [
  [[row(0.2, 0.5), row(0.6, 0.1), row(0.3, 0.3)], [row(0.1, 0.1), row(0.4, 0.4), row(0.25, 0.5)], [row(0.9, 0.05), row(0.05, 0.9), row(0.3, 0.4)]],
  [[row(0.5, 0.25), row(0.2, 0.2), row(0.7, 0.2)], [row(0.3, 0.6), row(0.15, 0.15), row(0.45, 0.1)], [row(0.2, 0.2), row(0.3, 0.3), row(0.4, 0.4)]],
]
// Teachers with 4 heads; one-hot rows (zeros) in the selected heads.
const teacher = (seed: number): Maps => [0, 1].map((b) => [0, 1, 2, 3].map((h) => [0, 1, 2].map((q) => {
  const k = (b + h + q + seed) % 3
  return h % 2 === 0 ? [0, 1, 2].map((j) => (j === k ? 1 : 0)) : row(0.2 + 0.1 * q, 0.3)
})))
const cl = teacher(0)
const mim = teacher(1)
const head = (m: Maps, h: number) => m.map((img) => img[h] ?? [])

describeEachBackend("kd-attention (eq. 3)", () => {
  it("equals l2·rowKL(A1_CL || A1_S) + (1 - l2)·rowKL(A2_MIM || A2_S), with AC-selected teacher heads", async () => {
    const { value: got, leaked } = await withoutLeaks(() =>
      tf.tidy(() => {
        const r = kdAttention(tf.tensor4d(student), tf.tensor4d(cl), tf.tensor4d(mim), { lambda: 0.25, clHead: 2, mimHead: 1 })
        return { total: r.total.dataSync()[0] ?? NaN, cl: r.components.cl?.dataSync()[0], mim: r.components.mim?.dataSync()[0] }
      }))
    expect(leaked).toBe(0)
    const eCl = rowKl64(head(cl, 2), head(student, 0))
    const eMim = rowKl64(head(mim, 1), head(student, 1))
    expect(got.cl).toBeCloseTo(eCl, 5)
    expect(got.mim).toBeCloseTo(eMim, 5)
    expect(got.total).toBeCloseTo(0.25 * eCl + 0.75 * eMim, 5)
    // KL direction: the reverse, rowKL(A_S || A_T), is infinite against one-hot teacher rows.
    expect(Number.isFinite(rowKl64(head(student, 0), head(cl, 2)))).toBe(false)
  })

  it("with l2 = 0 (the paper's setting) needs no CL maps and reads student head 1", () => {
    const got = tf.tidy(() => {
      const r = kdAttention(tf.tensor4d(student), undefined, tf.tensor4d(mim), { mimHead: 3 })
      return { total: r.total.dataSync()[0] ?? NaN, keys: Object.keys(r.components) }
    })
    expect(got.keys).toEqual(["mim"])
    expect(got.total).toBeCloseTo(rowKl64(head(mim, 3), head(student, 1)), 5)
  })

  it("stays finite where the student's map has exact zeros", () => {
    const zeroStudent = student.map((img) => img.map((h) => h.map(() => [1, 0, 0])))
    const got = tf.tidy(() => kdAttention(tf.tensor4d(zeroStudent), undefined, tf.tensor4d(mim)).total.dataSync()[0] ?? NaN)
    expect(Number.isFinite(got)).toBe(true)
    expect(got).toBeGreaterThan(10)
  })

  it("sends no gradient to teacher maps; the student's matches finite differences", async () => {
    const { leaked } = await withoutLeaks(() => {
      tf.tidy(() => {
        const s = tf.tensor4d(student)
        const c = tf.tensor4d(cl)
        const m = tf.tensor4d(mim)
        const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor): tf.Scalar => kdAttention(a, b, d, { lambda: 0.5, clHead: 1, mimHead: 1 }).total
        const [gs, gc, gm] = tf.grads(f)([s, c, m])
        expect(Array.from(gc?.dataSync() ?? [1]).every((v) => v === 0)).toBe(true)
        expect(Array.from(gm?.dataSync() ?? [1]).every((v) => v === 0)).toBe(true)
        const analytic = gs?.dataSync() ?? new Float32Array()
        expect(Math.max(...Array.from(analytic, Math.abs))).toBeGreaterThan(0.05)
        // Head 2 of the student is not distilled: exactly zero gradient there.
        const perImage = 3 * 9
        for (let b = 0; b < 2; b++) for (let i = 18; i < perImage; i++) expect(analytic[b * perImage + i]).toBe(0)
        expect(relError(analytic, numericGrad((x) => f(x, c, m), s, 1e-3))).toBeLessThan(5e-3)
      })
    })
    expect(leaked).toBe(0)
  })

  it("fails with AttentionTokenMismatch naming both shapes when token counts differ", () => {
    tf.tidy(() => {
      const s = tf.fill([2, 3, 5, 5], 0.2)
      const t = tf.fill([2, 12, 17, 17], 1 / 17)
      let error: unknown
      try {
        attentionKl(s, 0, t, 0, 1e-12, "mim")
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(AttentionTokenMismatch)
      expect(error instanceof AttentionTokenMismatch ? error.message : "").toMatch(/mim attention \[2, 12, 17, 17\] has 17 tokens but the student's \[2, 3, 5, 5\] has 5/)
    })
  })

  it("names the student shape when a distilled head does not exist", () => {
    tf.tidy(() => {
      expect(() => attentionKl(tf.fill([1, 1, 4, 4], 0.25), 1, tf.fill([1, 2, 4, 4], 0.25), 0)).toThrow(/student attention has shape \[1, 1, 4, 4\]; expected \[B > 0, H > 1, T, T\]/)
    })
  })
})
