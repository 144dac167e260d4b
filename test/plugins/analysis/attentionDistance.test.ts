/**
 * Mean attention distance (Figure 1): hand-made maps with known answers
 * (self-attention -> 0; uniform on a 2x2 grid -> p(2 + √2)/4, also when part
 * of the mass sits on the class token, which is dropped and renormalized
 * away; one-hot heads -> their offset), a float64 loop reference on random
 * maps, batch accumulation and typed errors. Every installed backend, no leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { AttentionDistanceMeter, attentionDistance, InvalidAttentionShape, patchDistances } from "../../../plugins/analysis/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { seeded } from "../objectives/reference.ts"

const perHead = (attn: tf.Tensor, patchSize: number): Array<number> => Array.from(tf.tidy(() => attentionDistance(attn, { patchSize }).dataSync()))

/** A [1, H, 5, 5] map (class token + 2x2 grid) from per-head rows of patch-key weights and class-token weight. */
const map2x2 = (heads: ReadonlyArray<(q: number) => { cls: number; keys: ReadonlyArray<number> }>): tf.Tensor => {
  const data: Array<number> = []
  for (const head of heads) {
    for (let q = -1; q < 4; q++) {
      const r = head(Math.max(q, 0))
      data.push(r.cls, ...r.keys)
    }
  }
  return tf.tensor4d(data, [1, heads.length, 5, 5])
}

const oneHot = (k: number): Array<number> => [0, 1, 2, 3].map((i) => (i === k ? 1 : 0))

describeEachBackend("attentionDistance", () => {
  it("is 0 for a head that attends only to its own patch", async () => {
    const { leaked } = await withoutLeaks(() => {
      const attn = map2x2([(q) => ({ cls: 0, keys: oneHot(q) })])
      expect(perHead(attn, 16)).toEqual([0])
      attn.dispose()
    })
    expect(leaked).toBe(0)
  })

  it("is p(2 + √2)/4 for uniform attention on a 2x2 grid, whatever the class token takes", async () => {
    const { leaked } = await withoutLeaks(() => {
      // Each query's keys: itself (0), two neighbours (p), the diagonal (p√2): mean p(2 + √2)/4.
      const attn = map2x2([
        () => ({ cls: 0, keys: [0.25, 0.25, 0.25, 0.25] }),
        () => ({ cls: 0.6, keys: [0.1, 0.1, 0.1, 0.1] }),
      ])
      const [a, b] = perHead(attn, 16)
      expect(a).toBeCloseTo((16 * (2 + Math.SQRT2)) / 4, 5)
      expect(b).toBeCloseTo((16 * (2 + Math.SQRT2)) / 4, 5)
      attn.dispose()
    })
    expect(leaked).toBe(0)
  })

  it("is the offset of a one-hot head: right neighbour p, opposite corner p√2", async () => {
    const { leaked } = await withoutLeaks(() => {
      // Grid 0 1 / 2 3: right/left neighbour is q xor 1, opposite corner 3 - q.
      const attn = map2x2([(q) => ({ cls: 0, keys: oneHot(q ^ 1) }), (q) => ({ cls: 0, keys: oneHot(3 - q) })])
      const [a, b] = perHead(attn, 4)
      expect(a).toBeCloseTo(4, 5)
      expect(b).toBeCloseTo(4 * Math.SQRT2, 5)
      attn.dispose()
    })
    expect(leaked).toBe(0)
  })

  it("equals a float64 loop over random softmax maps (3x3 grid, 2 images, 3 heads)", async () => {
    const { leaked } = await withoutLeaks(() => {
      const [b, h, g, p] = [2, 3, 3, 8]
      const t = 1 + g * g
      const logits = seeded(b * h * t * t, 31, 3)
      const attn = tf.tidy(() => tf.softmax(tf.tensor4d(logits, [b, h, t, t]), -1))
      const a = attn.dataSync()
      const dist = patchDistances(g, p)
      const want = Array.from({ length: h }, (_, head) => {
        let total = 0
        for (let img = 0; img < b; img++) {
          for (let q = 1; q < t; q++) {
            const row = Array.from({ length: g * g }, (_, k) => a[((img * h + head) * t + q) * t + 1 + k] ?? NaN)
            const mass = row.reduce((s, x) => s + x, 0)
            total += row.reduce((s, x, k) => s + (x / mass) * (dist[(q - 1) * g * g + k] ?? NaN), 0)
          }
        }
        return total / (b * g * g)
      })
      perHead(attn, p).forEach((x, i) => expect(x).toBeCloseTo(want[i] ?? NaN, 4))
      attn.dispose()
    })
    expect(leaked).toBe(0)
  })

  it("accumulates over batches exactly, per layer and as the mean over heads", async () => {
    const { leaked } = await withoutLeaks(async () => {
      const maps = [31, 32, 33].map((s) => tf.tidy(() => tf.softmax(tf.tensor4d(seeded(2 * 2 * 5 * 5, s, 2), [2, 2, 5, 5]), -1)))
      const [m0, m1, m2] = maps as [tf.Tensor, tf.Tensor, tf.Tensor]
      const split = new AttentionDistanceMeter({ patchSize: 16 })
      await split.add([{ layer: 3, attn: m0 }, { layer: 1, attn: m2 }])
      await split.add([{ layer: 3, attn: m1 }])
      const whole = new AttentionDistanceMeter({ patchSize: 16 })
      const both = tf.concat([m0, m1], 0)
      await whole.add([{ layer: 3, attn: both }])
      const r = split.result()
      expect(r.layers).toEqual([1, 3])
      expect(r.images).toBe(4)
      r.perHead[1]?.forEach((x, i) => expect(x).toBeCloseTo(whole.result().perHead[0]?.[i] ?? NaN, 4))
      expect(r.mean[0]).toBeCloseTo(((r.perHead[0]?.[0] ?? NaN) + (r.perHead[0]?.[1] ?? NaN)) / 2, 10)
      tf.dispose([...maps, both])
    })
    expect(leaked).toBe(0)
  })

  it("refuses maps that are not [B, H, 1 + g², 1 + g²], naming the layer and shape", async () => {
    const bad = tf.zeros([1, 2, 6, 6])
    const meter = new AttentionDistanceMeter({ patchSize: 16 })
    expect(() => attentionDistance(bad, { patchSize: 16 })).toThrowError(InvalidAttentionShape)
    await expect(meter.add([{ layer: 7, attn: bad }])).rejects.toThrowError(/layer 7 has shape \[1, 2, 6, 6\]; expected \[B, H, T, T\] with T = 1 prefix token\(s\) \+ g·g/)
    // The same shape fits with 2 prefix tokens (class + one register) and a 2x2 grid.
    expect(tf.tidy(() => attentionDistance(bad, { patchSize: 16, prefixTokens: 2 }).shape)).toEqual([2])
    const noCls = tf.tidy(() => tf.softmax(tf.ones([1, 1, 4, 4])))
    expect(() => attentionDistance(noCls, { patchSize: 16 })).toThrowError(InvalidAttentionShape)
    const d = tf.tidy(() => attentionDistance(noCls, { patchSize: 16, prefixTokens: 0 }).dataSync()[0])
    expect(d).toBeCloseTo((16 * (2 + Math.SQRT2)) / 4, 5)
    tf.dispose([bad, noCls])
  })
})
