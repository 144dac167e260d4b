/**
 * Attention Confidence (eq. 2) on hand-made maps: one-hot rows give C = 1, a
 * uniform head 1/T, a mixed head the mean of its row maxima; the class-token
 * row's inclusion option; the meter's mean over batches; the argmax (lowest
 * index on ties); shape errors. On every backend, without leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { argmaxHead, attentionConfidence, AttentionConfidenceMeter, checkAttentionConfidence } from "../../../plugins/analysis/attentionConfidence.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"

const T = 4
const oneHot = (q: number) => Array.from({ length: T }, (_, k) => (k === (q + 1) % T ? 1 : 0))
const uniform = () => Array(T).fill(1 / T)
// Head 2: row 0 (the class token's) peaks at 0.7, patch rows at 0.4, 0.5, 0.6.
const mixedRows = [[0.7, 0.1, 0.1, 0.1], [0.2, 0.4, 0.2, 0.2], [0.5, 0.3, 0.1, 0.1], [0.1, 0.1, 0.2, 0.6]]
const image = [[0, 1, 2, 3].map(oneHot), [0, 1, 2, 3].map(uniform), mixedRows]
const maps = [image, image] // [B=2, H=3, T=4, T=4]

describeEachBackend("attention confidence (eq. 2)", () => {
  it("one-hot head -> 1, uniform head -> 1/T, mixed head -> mean of row maxima (all rows by default)", async () => {
    const { value, leaked } = await withoutLeaks(() => tf.tidy(() => Array.from(attentionConfidence(tf.tensor4d(maps)).dataSync())))
    expect(leaked).toBe(0)
    expect(value[0]).toBeCloseTo(1, 6)
    expect(value[1]).toBeCloseTo(1 / T, 6)
    expect(value[2]).toBeCloseTo((0.7 + 0.4 + 0.5 + 0.6) / 4, 6)
  })

  it("queries: 'patches' drops the class-token row", () => {
    const value = tf.tidy(() => Array.from(attentionConfidence(tf.tensor4d(maps), { queries: "patches" }).dataSync()))
    expect(value[2]).toBeCloseTo((0.4 + 0.5 + 0.6) / 3, 6)
    expect(value[1]).toBeCloseTo(1 / T, 6)
  })

  it("the meter averages over images across batches and selects the argmax head", async () => {
    const meter = new AttentionConfidenceMeter()
    // Second batch: one image whose heads 0 and 1 are swapped.
    const swapped = [[image[1]!, image[0]!, mixedRows]]
    const { leaked } = await withoutLeaks(async () => {
      const a = tf.tensor4d(maps)
      const b = tf.tensor4d(swapped)
      await meter.add(a)
      await meter.add(b)
      tf.dispose([a, b])
    })
    expect(leaked).toBe(0)
    const r = meter.result()
    expect(r.images).toBe(3)
    expect(r.perHead[0]).toBeCloseTo((2 * 1 + 0.25) / 3, 6)
    expect(r.perHead[1]).toBeCloseTo((2 * 0.25 + 1) / 3, 6)
    expect(r.best).toBe(0)
    expect(r.queries).toBe("all")
  })

  it("rejects maps that are not [B, H, T, T] and a head count that changes between batches", async () => {
    expect(checkAttentionConfidence([2, 3, 4, 5])?.message).toMatch(/attention has shape \[2, 3, 4, 5\]; expected \[B, H, T, T\]/)
    expect(checkAttentionConfidence([2, 3, 1, 1], { queries: "patches" })?.message).toMatch(/T > 1 prefix token/)
    const meter = new AttentionConfidenceMeter()
    const a = tf.fill([1, 3, 4, 4], 0.25)
    const b = tf.fill([1, 2, 4, 4], 0.25)
    await meter.add(a)
    await expect(meter.add(b)).rejects.toThrow(/expected 3 heads, as in earlier batches/)
    tf.dispose([a, b])
  })
})

it("argmaxHead breaks ties towards the lowest index", () => {
  expect(argmaxHead([0.2, 0.9, 0.9, 0.1])).toBe(1)
  expect(argmaxHead([])).toBe(-1)
})
