/**
 * DINO loss: hand-computed values, agreement with an independent float64
 * implementation of `DINOLoss.forward`, its gradient against float64 finite
 * differences, a zero gradient on the teacher side, the center's EMA update
 * and the typed errors; on every installed backend, with no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { dinoLoss, InvalidObjectiveConfig, ShapeMismatch, updateCenter } from "../../../plugins/objectives/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { dinoLossRef, numericGrad64, relError, rows, seeded } from "./reference.ts"

const noLeak = async <A>(f: () => A | Promise<A>): Promise<A> => {
  const { value, leaked } = await withoutLeaks(f)
  expect(leaked).toBe(0)
  return value
}

describeEachBackend("dinoLoss", () => {
  it("is ln K when the student's logits are all equal, whatever the teacher", async () => {
    await noLeak(() => {
      const v = tf.tidy(() => dinoLoss(tf.zeros([4 * 3, 5]), tf.randomNormal([2 * 3, 5], 0, 1, "float32", 1), tf.zeros([1, 5]), { studentViews: 4, teacherTemp: 0.04 }).dataSync()[0])
      expect(v).toBeCloseTo(Math.log(5), 5)
    })
  })

  it("matches a hand-computed value: uniform teacher, student p = (3/4, 1/4) -> ½ ln(16/3)", async () => {
    await noLeak(() => {
      // Student logits / 0.1 = (ln 3, 0): softmax (3/4, 1/4). Teacher (x, x) - center: uniform.
      const s = tf.tensor2d([[0.1 * Math.log(3), 0], [0.1 * Math.log(3), 0]])
      const t = tf.tensor2d([[0.7, 0.2], [1.5, 1.0]])
      const c = tf.tensor2d([[0.5, 0]])
      const v = tf.tidy(() => dinoLoss(s, t, c, { studentViews: 2, teacherTemp: 0.04 }).dataSync()[0])
      expect(v).toBeCloseTo(0.5 * Math.log(16 / 3), 5)
      tf.dispose([s, t, c])
    })
  })

  it("skips the pairs where teacher and student see the same view", async () => {
    await noLeak(() => {
      // Views 0 and 1 equal between teacher and student (sharp one-hot teacher):
      // if the same-view pairs were counted the loss would drop below the cross-view value.
      const s = tf.tensor2d([[10, 0], [0, 10]])
      const t = tf.tensor2d([[1, 0], [0, 1]])
      const v = tf.tidy(() => dinoLoss(s, t, tf.zeros([2]), { studentViews: 2, teacherTemp: 0.01 }).dataSync()[0] ?? NaN)
      // Each cross pair: teacher one-hot on class i, student view j != i puts 1/(1+e^100) on it: H = ln(1 + e^100) ≈ 100.
      expect(v).toBeCloseTo(100, 3)
      tf.dispose([s, t])
    })
  })

  it("equals an independent float64 DINOLoss on random outputs (2 global + 3 local views)", async () => {
    await noLeak(() => {
      const [V, T, B, K] = [5, 2, 3, 7]
      const sv = seeded(V * B * K, 11, 2)
      const tv = seeded(T * B * K, 12, 2)
      const cv = seeded(K, 13, 0.5)
      for (const temp of [0.04, 0.07]) {
        const got = tf.tidy(() => dinoLoss(tf.tensor2d(sv, [V * B, K]), tf.tensor2d(tv, [T * B, K]), tf.tensor1d(cv), { studentViews: V, teacherTemp: temp }).dataSync()[0] ?? NaN)
        const want = dinoLossRef(rows(sv, V * B, K), rows(tv, T * B, K), Array.from(cv), V, T, temp)
        expect(Math.abs(got - want) / want).toBeLessThan(1e-5)
      }
    })
  })

  it("has the gradient of float64 finite differences w.r.t. the student, and none w.r.t. teacher or center", async () => {
    await noLeak(() => {
      const [V, T, B, K] = [4, 2, 2, 5]
      const sv = seeded(V * B * K, 21, 1.5)
      const tv = seeded(T * B * K, 22, 1.5)
      const cv = seeded(K, 23, 0.3)
      const o = { studentViews: V, teacherTemp: 0.05 }
      const [gs, gt, gc] = tf.tidy(() => {
        const g = tf.grads((s: tf.Tensor, t: tf.Tensor, c: tf.Tensor) => dinoLoss(s, t, c, o))([tf.tensor2d(sv, [V * B, K]), tf.tensor2d(tv, [T * B, K]), tf.tensor2d(cv, [1, K])])
        return g.map((x) => x.dataSync())
      })
      const fd = numericGrad64((x) => dinoLossRef(rows(x, V * B, K), rows(tv, T * B, K), Array.from(cv), V, T, 0.05), sv)
      expect(relError(gs ?? [], fd)).toBeLessThan(1e-4)
      expect(Array.from(gt ?? [1]).every((x) => x === 0)).toBe(true)
      expect(Array.from(gc ?? [1]).every((x) => x === 0)).toBe(true)
    })
  })

  it("fails with typed errors naming both shapes or the bad option", () => {
    const s = tf.zeros([6, 4])
    const t = tf.zeros([4, 4])
    const call = (tt: tf.Tensor, c: tf.Tensor, v: number, temp = 0.04) => () => dinoLoss(s, tt, c, { studentViews: v, teacherTemp: temp })
    const bad = [tf.zeros([4, 5]), tf.zeros([2, 4])]
    const c = tf.zeros([4])
    expect(call(bad[0] ?? t, c, 3)).toThrowError(ShapeMismatch)
    expect(call(bad[0] ?? t, c, 3)).toThrowError(/teacherOutput has shape \[4, 5\]; expected \[4, 4\].*studentOutput \[6, 4\]/)
    expect(call(t, tf.zeros([1, 3]), 3)).toThrowError(/center has shape \[1, 3\]; expected \[1, 4\] or \[4\]/)
    expect(call(t, c, 4)).toThrowError(/studentOutput has shape \[6, 4\]; expected \[studentViews \* B, K\] with studentViews = 4/)
    expect(call(t, c, 3, 0)).toThrowError(InvalidObjectiveConfig)
    expect(call(t, c, 1)).toThrowError(/studentViews = 1 is invalid/)
    tf.dispose([s, t, c, ...bad])
  })
})

describeEachBackend("updateCenter", () => {
  it("is c' = m c + (1 - m) mean(teacher rows), applied twice", async () => {
    await noLeak(() => {
      const t = tf.tensor2d([[1, 2], [3, 4]])
      const c0 = tf.zeros([1, 2])
      const c1 = updateCenter(c0, t, 0.9)
      const c2 = updateCenter(c1, t, 0.9)
      expect(c1.shape).toEqual([1, 2])
      Array.from(c1.dataSync()).forEach((x, i) => expect(x).toBeCloseTo([0.2, 0.3][i] ?? NaN, 6))
      Array.from(c2.dataSync()).forEach((x, i) => expect(x).toBeCloseTo([0.38, 0.57][i] ?? NaN, 6))
      tf.dispose([t, c0, c1, c2])
    })
  })

  it("rejects a momentum outside [0, 1] and a center of the wrong width", () => {
    const t = tf.zeros([2, 3])
    const c = tf.zeros([1, 3])
    expect(() => updateCenter(c, t, 1.5)).toThrowError(/momentum = 1.5 is invalid; expected a number in \[0, 1\]/)
    const wide = tf.zeros([1, 4])
    expect(() => updateCenter(wide, t)).toThrowError(/center has shape \[1, 4\]; expected \[1, 3\]/)
    tf.dispose([t, c, wide])
  })
})
