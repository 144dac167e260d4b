/**
 * `openSplit` and the batch sources (`plugins/datasets/source.ts`) on a
 * generated ImageNet-layout tree: the rule (a reader that streams is
 * streamed, any other split is in memory with makeLoader's batches, bit for
 * bit), streamed train and eval batches (counts, labels, order, seeds,
 * first N, class-interleaved), in-order access with a typed error otherwise, the decoded images
 * held at once bounded by the prefetch depth whatever the split's size, and a
 * file that does not decode.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, type Scope } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { randomCrop } from "../../../plugins/datasets/augment/augmentation.ts"
import { Datasets } from "../../../plugins/datasets/builtins.ts"
import type { DatasetRegistry } from "../../../plugins/datasets/registry.ts"
import { makeLoader } from "../../../plugins/datasets/loader.ts"
import { type Batch } from "../../../plugins/datasets/loader.ts"
import { type BatchSource, loaderSource, openSplit, type StreamedSplit, streamSource, type StreamSourceOptions } from "../../../plugins/datasets/source.ts"
import { treeRegistry, WNIDS, writeImagenetTree } from "../../fixtures/imagenet/tree.ts"
import { failureOf, tempDir } from "./helpers.ts"

let registry: DatasetRegistry
let small: string
beforeAll(async () => {
  small = tempDir("source-tree")
  const large = tempDir("source-tree-x3")
  await writeImagenetTree(small, { train: 5, val: 2 })
  await writeImagenetTree(large, { train: 15, val: 2 })
  registry = treeRegistry([
    { name: "tree", root: small },
    { name: "tree-x3", root: large },
    { name: "tree-threads", root: small, workers: 2, prefetch: 1 },
  ])
}, 60_000)

const inScope = <A, E>(eff: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(eff.pipe(Effect.scoped, Effect.provideService(Datasets, registry)))

const epoch = (source: BatchSource, e: number) =>
  Effect.gen(function* () {
    const out: Array<Batch> = []
    for (let b = 0; b < source.batchesPerEpoch; b++) out.push(yield* source.batch(e, b))
    return out
  })

const unit = { mean: [0, 0, 0], std: [1, 1, 1] }
const trainOptions: StreamSourceOptions = { mode: "train", batchSize: 4, size: 16, channels: 3, normalization: unit, seed: 3, scale: [0.5, 1], flip: 0.5 }

const streamed = (dataset: string, count = 0) =>
  Effect.gen(function* () {
    const data = yield* openSplit(dataset, "train", count)
    if (data.kind !== "stream") throw new Error(`${dataset} was not streamed`)
    return data satisfies StreamedSplit
  })

describe("openSplit", () => {
  it("loads a split whose reader does not stream in memory, with makeLoader's batches unchanged", async () => {
    const [viaSource, direct] = await inScope(
      Effect.gen(function* () {
        const data = yield* openSplit("synthetic-shapes", "train", 40)
        expect(data.kind).toBe("memory")
        if (data.kind !== "memory") return [[], []]
        expect(data.meta).toMatchObject({ name: "synthetic-shapes", count: 40, channels: 1 })
        const o = { batchSize: 16, normalization: data.spec.normalization, seed: 2, augmentation: randomCrop({ size: 20 }) }
        const source = loaderSource(yield* makeLoader(data.set, o))
        expect(source.streamed).toBe(false)
        const loader = yield* makeLoader(data.set, o)
        return [yield* epoch(source, 1), [0, 1, 2].map((b) => loader.batch(1, b))]
      }),
    )
    expect(viaSource).toHaveLength(3)
    for (const [b, batch] of viaSource.entries()) {
      expect(Array.from(batch.images.data)).toEqual(Array.from(direct[b]!.images.data))
      expect(Array.from(batch.labels)).toEqual(Array.from(direct[b]!.labels))
    }
  })

  it("streams a split whose reader streams: its index, the first N, no pixels read", async () => {
    const data = await inScope(streamed("tree"))
    expect(data.meta).toMatchObject({ name: "tree", split: "train", count: 15, classes: [...WNIDS], channels: 3 })
    // Class-interleaved (interleaveClasses): the k-th file of every class before the (k+1)-th of any.
    expect(Array.from(data.meta.labels)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    for (const c of [0, 1, 2]) {
      const files = data.index.files.filter((_, i) => data.meta.labels[i] === c)
      expect(files.every((f) => f.includes(`/${WNIDS[c]}/`))).toBe(true)
      expect(files).toEqual([...files].sort())
    }
    expect(data.meter.decoded).toBe(0)
    // The first N (trainCount, calibrationCount) see every class, not the first classes of the listing.
    const first = await inScope(streamed("tree", 7))
    expect(first.meta.count).toBe(7)
    expect(first.index.files).toEqual(data.index.files.slice(0, 7))
    expect(Array.from(first.meta.labels)).toEqual([0, 1, 2, 0, 1, 2, 0])
    // The same files through load() are refused: the entry's maxInMemory is 1.
    const spec = await Effect.runPromise(registry.resolve("tree", { split: "train" }))
    expect((await failureOf(registry.load(spec)))?._tag).toBe("DatasetSpecError")
  })
})

describe("streamSource", () => {
  it("train: floor(n / batch) batches of distinct images per epoch, labels of the index, seeded per (seed, epoch)", async () => {
    const run = (o: StreamSourceOptions, epochs: ReadonlyArray<number>) =>
      inScope(
        Effect.gen(function* () {
          const data = yield* streamed("tree")
          const source = yield* streamSource(data, o)
          expect(source.streamed).toBe(true)
          expect(source.batchesPerEpoch).toBe(3) // 15 images, batch 4, the last partial batch dropped
          const out: Array<Array<Batch>> = []
          for (const e of epochs) out.push(yield* epoch(source, e))
          return { out, labels: data.meta.labels }
        }),
      )
    const { out, labels } = await run(trainOptions, [0, 1])
    for (const batches of out) {
      const seen = batches.flatMap((b) => Array.from(b.indices))
      expect(new Set(seen).size).toBe(12)
      for (const b of batches) {
        expect(b.images.shape).toEqual([4, 3, 16, 16])
        expect(Array.from(b.labels)).toEqual(Array.from(b.indices, (i) => labels[i]))
        expect(b.images.data.every((v) => v >= 0 && v <= 1)).toBe(true) // unit normalization: pixels in [0, 1]
      }
    }
    expect(out[0]!.map((b) => Array.from(b.indices))).not.toEqual(out[1]!.map((b) => Array.from(b.indices)))
    const again = await run(trainOptions, [1])
    expect(again.out[0]!.map((b) => Array.from(b.images.data))).toEqual(out[1]!.map((b) => Array.from(b.images.data)))
    const otherSeed = await run({ ...trainOptions, seed: 4 }, [1])
    expect(otherSeed.out[0]!.map((b) => Array.from(b.indices))).not.toEqual(out[1]!.map((b) => Array.from(b.indices)))
  })

  it("eval: every image once, in file order, the last batch partial; the same pixels with 2 decode threads", async () => {
    const evalOptions: StreamSourceOptions = { mode: "eval", batchSize: 4, size: 16, channels: 3, normalization: unit }
    const read = (dataset: string) =>
      inScope(
        Effect.gen(function* () {
          const data = yield* streamed(dataset)
          const batches = yield* epoch(yield* streamSource(data, evalOptions), 0)
          return { batches, labels: data.meta.labels }
        }),
      )
    const { batches, labels } = await read("tree")
    expect(batches.map((b) => b.labels.length)).toEqual([4, 4, 4, 3])
    expect(batches.flatMap((b) => Array.from(b.indices))).toEqual(Array.from({ length: 15 }, (_, i) => i))
    expect(batches.flatMap((b) => Array.from(b.labels))).toEqual(Array.from(labels))
    const threaded = await read("tree-threads")
    expect(threaded.batches.map((b) => Array.from(b.images.data))).toEqual(batches.map((b) => Array.from(b.images.data)))
  })

  it("gives an epoch's batches in order: the next one, the last one again, or batch 0; otherwise a SourceOrderError", async () => {
    const failure = await failureOf(
      Effect.gen(function* () {
        const source = yield* streamSource(yield* streamed("tree"), trainOptions)
        const a = yield* source.batch(0, 0)
        expect(yield* source.batch(0, 0)).toBe(a)
        yield* source.batch(0, 1)
        const restarted = yield* source.batch(0, 0) // a new pass over epoch 0: the same batch, decoded again
        expect(Array.from(restarted.images.data)).toEqual(Array.from(a.images.data))
        return yield* source.batch(0, 2)
      }).pipe(Effect.scoped, Effect.provideService(Datasets, registry)),
    )
    expect(failure?._tag).toBe("SourceOrderError")
    expect(failure?.message).toContain("asked for epoch 0 batch 2, expected epoch 0 batch 1, or batch 0 of an epoch")
  })

  it("holds at most (prefetch + 1) batches of decoded images, however large the split", async () => {
    const held = (dataset: string) =>
      inScope(
        Effect.gen(function* () {
          const data = yield* streamed(dataset)
          const source = yield* streamSource(data, trainOptions)
          for (let e = 0; e < 2; e++)
            for (let b = 0; b < source.batchesPerEpoch; b++) {
              yield* source.batch(e, b)
              yield* Effect.sleep("5 millis") // a slow consumer: the prefetch runs ahead as far as it may
            }
          return { decoded: data.meter.decoded, peak: data.meter.peak, prefetch: data.prefetch }
        }),
      )
    const s = await held("tree")
    const l = await held("tree-x3")
    expect(s.prefetch).toBe(2)
    expect(s.decoded).toBe(2 * 12) // 2 epochs x 3 batches x 4: nothing decoded twice or beyond the epoch
    expect(l.decoded).toBe(2 * 44) // 45 images: 11 batches per epoch
    for (const r of [s, l]) {
      expect(r.peak).toBeGreaterThanOrEqual(trainOptions.batchSize)
      expect(r.peak).toBeLessThanOrEqual((r.prefetch + 1) * trainOptions.batchSize)
    }
  }, 60_000)

  it("a file that does not decode fails the batch with an ImageDecodeError naming it", async () => {
    const root = tempDir("bad-tree")
    await writeImagenetTree(root, { train: 2, val: 1 })
    const bad = path.join(root, "train", WNIDS[0], "zz_broken.JPEG")
    fs.writeFileSync(bad, "not a jpeg")
    const failure = await failureOf(
      Effect.gen(function* () {
        const source = yield* streamSource(yield* openSplit("bad", "train", 0).pipe(Effect.flatMap((d) => (d.kind === "stream" ? Effect.succeed(d) : Effect.die("not streamed")))), {
          ...trainOptions,
          mode: "eval",
        })
        return yield* epoch(source, 0)
      }).pipe(Effect.scoped, Effect.provideService(Datasets, treeRegistry([{ name: "bad", root }]))),
    )
    expect(failure?._tag).toBe("ImageDecodeError")
    expect(failure?.message).toContain("zz_broken.JPEG")
  })
})
