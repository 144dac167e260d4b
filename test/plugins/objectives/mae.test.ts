/**
 * MAE: patchify against its einsum definition (non-square images, 3
 * channels), unpatchify as its inverse, hand-computed losses (with and
 * without norm_pix_loss, whose variance is torch's unbiased one), the loss
 * and its gradient against float64 references, and that visible patches do
 * not matter: changing them leaves the loss unchanged and their prediction
 * gradient is exactly 0. On every installed backend, no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { InvalidObjectiveConfig, maeLoss, maskTensor, patchify, ShapeMismatch, unpatchify } from "../../../plugins/objectives/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { maeLossRef, numericGrad64, patchifyRef, relError, seeded } from "./reference.ts"

const noLeak = async (f: () => void): Promise<void> => {
  const { leaked } = await withoutLeaks(f)
  expect(leaked).toBe(0)
}

const loss = (img: tf.Tensor, pred: tf.Tensor, mask: tf.Tensor, normPixLoss = false): number =>
  tf.tidy(() => maeLoss(img, pred, mask, { patchSize: 2, normPixLoss }).dataSync()[0] ?? NaN)

describeEachBackend("MAE patchify / unpatchify", () => {
  it("patchify is MAE's einsum nchpwq->nhwpqc, for H != W and C = 3", () =>
    noLeak(() => {
      const shape = [2, 3, 4, 6]
      const data = seeded(2 * 3 * 4 * 6, 1)
      const got = tf.tidy(() => {
        const p = patchify(tf.tensor4d(data, [2, 3, 4, 6]), 2)
        expect(p.shape).toEqual([2, 6, 12])
        return p.dataSync()
      })
      expect(Array.from(got)).toEqual(Array.from(patchifyRef(data, shape, 2), Math.fround))
    }))

  it("unpatchify inverts patchify (square by default, given grid otherwise)", () =>
    noLeak(() => {
      tf.tidy(() => {
        const sq = tf.tensor4d(seeded(2 * 3 * 4 * 4, 2), [2, 3, 4, 4])
        expect(Array.from(unpatchify(patchify(sq, 2), { patchSize: 2, channels: 3 }).dataSync())).toEqual(Array.from(sq.dataSync()))
        const wide = tf.tensor4d(seeded(1 * 1 * 2 * 6, 3), [1, 1, 2, 6])
        const back = unpatchify(patchify(wide, 2), { patchSize: 2, channels: 1, grid: [1, 3] })
        expect(back.shape).toEqual([1, 1, 2, 6])
        expect(Array.from(back.dataSync())).toEqual(Array.from(wide.dataSync()))
        expect(() => unpatchify(patchify(wide, 2), { patchSize: 2, channels: 1 })).toThrowError(/patches has shape \[1, 3, 4\]; expected \[N, L \(a perfect square\), 4\]/)
      })
    }))
})

describeEachBackend("maeLoss", () => {
  // Image [[1,2,3,4],[5,6,7,8]], p = 2: patch 0 = (1,2,5,6), patch 1 = (3,4,7,8).
  const image = () => tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 4])

  it("is the mean squared error over masked patches only (hand-computed)", () =>
    noLeak(() => {
      tf.tidy(() => {
        const pred = tf.zeros([1, 2, 4])
        expect(loss(image(), pred, tf.tensor2d([[1, 0]]))).toBeCloseTo((1 + 4 + 25 + 36) / 4, 5)
        expect(loss(image(), pred, tf.tensor2d([[0, 1]]))).toBeCloseTo((9 + 16 + 49 + 64) / 4, 5)
        expect(loss(image(), pred, tf.tensor2d([[1, 1]]))).toBeCloseTo((16.5 + 34.5) / 2, 5)
      })
    }))

  it("norm_pix_loss uses the unbiased per-patch variance: a zero prediction costs (n-1)/n = 3/4", () =>
    noLeak(() => {
      tf.tidy(() => {
        // Patch (1,2,5,6): deviations ±1.5, ±2.5, Σ² = 17; target = dev/√(17/3 + 1e-6); mean square = (17/4)/(17/3 + 1e-6).
        expect(loss(image(), tf.zeros([1, 2, 4]), tf.tensor2d([[1, 0]]), true)).toBeCloseTo((17 / 4) / (17 / 3 + 1e-6), 6)
      })
    }))

  it("equals a float64 reference, with its gradient w.r.t. the prediction", () =>
    noLeak(() => {
      const [n, c, s, p] = [2, 3, 4, 2]
      const [l, d] = [(s / p) ** 2, p * p * c]
      const img = seeded(n * c * s * s, 4, 2)
      const pred = seeded(n * l * d, 5)
      const mask = Float32Array.from([1, 0, 1, 1, 0, 0, 1, 0])
      const target = patchifyRef(img, [n, c, s, s], p)
      for (const norm of [false, true]) {
        const [value, grad] = tf.tidy(() => {
          const f = (pr: tf.Tensor) => maeLoss(tf.tensor4d(img, [n, c, s, s]), pr, tf.tensor2d(mask, [n, l]), { patchSize: p, normPixLoss: norm })
          const { value, grad } = tf.valueAndGrad(f)(tf.tensor3d(pred, [n, l, d]))
          return [value.dataSync()[0] ?? NaN, grad.dataSync()] as const
        })
        const want = maeLossRef(target, pred, mask, n, l, d, norm)
        expect(Math.abs(value - want) / want, `normPixLoss ${norm}`).toBeLessThan(1e-5)
        expect(relError(grad, numericGrad64((x) => maeLossRef(target, x, mask, n, l, d, norm), pred)), `normPixLoss ${norm}`).toBeLessThan(1e-4)
      }
    }))

  it("ignores visible patches: changing them leaves the loss unchanged, their gradient is exactly 0", () =>
    noLeak(() => {
      tf.tidy(() => {
        const [n, l, d] = [2, 4, 12]
        const maskData = [1, 0, 0, 1, 0, 1, 1, 0]
        const mask = tf.tensor2d(maskData, [n, l])
        const visible = tf.reshape(tf.sub(1, mask), [n, l, 1])
        const img = tf.tensor4d(seeded(n * 3 * 16, 6), [n, 3, 4, 4])
        const pred = tf.tensor3d(seeded(n * l * d, 7), [n, l, d])
        // Replace every visible patch, in the prediction and in the image.
        const pred2 = tf.add(pred, tf.mul(visible, tf.randomNormal([n, l, d], 0, 5, "float32", 8)))
        const patches2 = tf.add(patchify(img, 2), tf.mul(visible, tf.randomNormal([n, l, d], 0, 5, "float32", 9)))
        const img2 = unpatchify(patches2, { patchSize: 2, channels: 3 })
        for (const norm of [false, true]) expect(loss(img2, pred2, mask, norm)).toBe(loss(img, pred, mask, norm))
        const g = tf.grad((pr: tf.Tensor) => maeLoss(img, pr, mask, { patchSize: 2 }))(pred).dataSync()
        maskData.forEach((m, i) => {
          const row = Array.from(g.subarray(i * d, (i + 1) * d))
          if (m === 0) expect(row.every((x) => x === 0)).toBe(true)
          else expect(row.some((x) => x !== 0)).toBe(true)
        })
      })
    }))

  it("fails with typed errors naming the shapes", () =>
    noLeak(() => {
      tf.tidy(() => {
        const img = tf.zeros([2, 1, 4, 4])
        expect(() => maeLoss(img, tf.zeros([2, 4, 5]), tf.zeros([2, 4]), { patchSize: 2 })).toThrowError(ShapeMismatch)
        expect(() => maeLoss(img, tf.zeros([2, 4, 5]), tf.zeros([2, 4]), { patchSize: 2 })).toThrowError(/pred has shape \[2, 4, 5\]; expected \[2, 4, 4\] \(patchify of images \[2, 1, 4, 4\]/)
        expect(() => maeLoss(img, tf.zeros([2, 4, 4]), tf.zeros([2, 5]), { patchSize: 2 })).toThrowError(/mask has shape \[2, 5\]; expected \[2, 4\]/)
        expect(() => maeLoss(img, tf.zeros([2, 4, 4]), tf.zeros([2, 4]), { patchSize: 3 })).toThrowError(/images has shape \[2, 1, 4, 4\]; expected .*multiples of patchSize 3/)
        expect(() => maeLoss(img, tf.zeros([2, 16, 1]), tf.zeros([2, 16]), { patchSize: 1, normPixLoss: true })).toThrowError(InvalidObjectiveConfig)
      })
    }))

  it("maskTensor takes the loader's mask and refuses one with nothing masked", () =>
    noLeak(() => {
      const m = maskTensor({ mask: Uint8Array.from([1, 0, 0, 1, 1, 0]), numPatches: 3, numMasked: 1 })
      expect(m.shape).toEqual([2, 3])
      expect(Array.from(m.dataSync())).toEqual([1, 0, 0, 1, 1, 0])
      m.dispose()
      expect(() => maskTensor({ mask: new Uint8Array(4), numPatches: 4, numMasked: 0 })).toThrowError(/numMasked = 0 is invalid/)
    }))
})
