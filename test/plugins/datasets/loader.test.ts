import { describe, expect, it } from "vitest"
import { masked, multiCrop, randomCrop } from "../../../plugins/datasets/augment/augmentation.ts"
import { makeDefaultRegistry } from "../../../plugins/datasets/builtins.ts"
import { countPerClass, type ImageSet } from "../../../plugins/datasets/ImageSet.ts"
import { prefetch } from "../../../plugins/datasets/internal/prefetch.ts"
import { type Batch, makeLoader } from "../../../plugins/datasets/loader.ts"
import { firstN, stratified } from "../../../plugins/datasets/subset.ts"
import { failureOf, run } from "./helpers.ts"

const registry = makeDefaultRegistry()
const spec = await run(registry.resolve("synthetic-shapes", { overrides: { count: 250 } }))
const set: ImageSet = await run(registry.load(spec))
const norm = spec.normalization

const collect = async (it: AsyncIterable<Batch>) => {
  const out: Array<Batch> = []
  for await (const b of it) out.push(b)
  return out
}
const bytesOf = (bs: ReadonlyArray<Batch>) =>
  Buffer.concat(bs.flatMap((b) => [...b.views.map((v) => Buffer.from(v.data.buffer)), Buffer.from(b.labels.buffer), ...(b.mask ? [Buffer.from(b.mask.mask)] : [])]))

describe("batch loader", () => {
  it("visits every example once per epoch, shuffled differently per epoch, with matching labels", async () => {
    const loader = await run(makeLoader(set, { batchSize: 64, normalization: norm, seed: 3 }))
    expect(loader.batchesPerEpoch).toBe(4)
    const e0 = await collect(loader.epoch(0))
    const e1 = await collect(loader.epoch(1))
    expect(e0.map((b) => b.labels.length)).toEqual([64, 64, 64, 58])
    const idx0 = e0.flatMap((b) => Array.from(b.indices))
    expect([...idx0].sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i))
    expect(idx0).not.toEqual(e1.flatMap((b) => Array.from(b.indices)))
    for (const b of e0) b.indices.forEach((i, k) => expect(b.labels[k]).toBe(set.labels[i]))
    expect(e0[0]!.images.shape).toEqual([64, 1, 28, 28])
    const noShuffle = await run(makeLoader(set, { batchSize: 100, normalization: norm, shuffle: false, dropLast: true }))
    const ns = await collect(noShuffle.epoch(0))
    expect(ns).toHaveLength(2)
    expect(Array.from(ns[1]!.indices)).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i))
  })

  it("same seed -> the same batches bit for bit, whatever the prefetch depth; other seed -> different", async () => {
    for (const augmentation of [randomCrop({ size: 20 }), multiCrop({ globalSize: 16, localSize: 8, localCrops: 2 }), masked({ size: 28, patchSize: 4 })]) {
      const mk = (seed: number, depth: number) => run(makeLoader(set, { batchSize: 32, normalization: norm, augmentation, seed, prefetch: depth }))
      const a = bytesOf(await collect((await mk(9, 1)).epoch(2)))
      const b = bytesOf(await collect((await mk(9, 8)).epoch(2)))
      const c = bytesOf(await collect((await mk(10, 2)).epoch(2)))
      expect(a.equals(b)).toBe(true)
      expect(a.equals(c)).toBe(false)
      const l = await mk(9, 3)
      expect(bytesOf([l.batch(2, 5)]).equals(bytesOf([(await collect(l.epoch(2)))[5]!]))).toBe(true)
    }
  })

  it("MAE batches carry exact masks", async () => {
    const loader = await run(makeLoader(set, { batchSize: 16, normalization: norm, augmentation: masked({ size: 28, patchSize: 4 }) }))
    const b = loader.batch(0, 0)
    expect(b.mask).toMatchObject({ numPatches: 49, numMasked: 37, patchSize: 4 })
    expect(b.mask!.mask.reduce((s, v) => s + v, 0)).toBe(16 * 37)
    expect(b.mask!.keep.length).toBe(16 * 12)
  })

  it("prefetch stays within its depth and stops producing when the consumer breaks", async () => {
    const made: Array<number> = []
    let consumed = 0
    const it = prefetch(50, 3, (i) => {
      made.push(i)
      expect(i - consumed).toBeLessThanOrEqual(3) // never more than depth ahead of the consumer
      return i
    })
    for await (const v of it) {
      expect(v).toBe(consumed)
      consumed++
      await new Promise((r) => setTimeout(r, 1)) // a slow consumer lets the producer run ahead
      if (consumed === 10) break
    }
    await new Promise((r) => setTimeout(r, 20))
    expect(made.length).toBeLessThanOrEqual(10 + 3)
    expect(made).toEqual(Array.from({ length: made.length }, (_, i) => i))
  })

  it("a failing producer rejects the consumer's next()", async () => {
    const it = prefetch(5, 2, (i) => {
      if (i === 2) throw new Error("boom")
      return i
    })
    await expect(collect(it as AsyncIterable<Batch>)).rejects.toThrow("boom")
  })

  it("bad settings fail with LoaderConfigError naming the setting", async () => {
    expect(await failureOf(makeLoader(set, { batchSize: 0, normalization: norm }))).toMatchObject({ _tag: "LoaderConfigError", field: "batchSize" })
    expect(await failureOf(makeLoader(set, { batchSize: 8, normalization: norm, prefetch: 0 }))).toMatchObject({ field: "prefetch" })
    expect(await failureOf(makeLoader(set, { batchSize: 8, normalization: { mean: [0, 0], std: [1, 1] } }))).toMatchObject({ field: "normalization" })
  })
})

describe("subsets", () => {
  it("firstN keeps the first examples; stratified keeps N per class", async () => {
    const f = await run(firstN(set, 25))
    expect(f.count).toBe(25)
    expect(Buffer.from(f.images).equals(Buffer.from(set.images.subarray(0, 25 * 784)))).toBe(true)
    const s = await run(stratified(set, 7))
    expect(countPerClass(s)).toEqual(new Array(10).fill(7))
    const seeded = await run(stratified(set, 7, 1))
    expect(countPerClass(seeded)).toEqual(new Array(10).fill(7))
    expect(Buffer.from(seeded.images).equals(Buffer.from(s.images))).toBe(false)
    expect(Buffer.from((await run(stratified(set, 7, 1))).images).equals(Buffer.from(seeded.images))).toBe(true)
    expect(await failureOf(stratified(set, 26))).toMatchObject({ _tag: "SubsetSizeError", requested: 26, available: 25 })
    expect(await failureOf(firstN(set, 251))).toMatchObject({ _tag: "SubsetSizeError" })
  })
})
