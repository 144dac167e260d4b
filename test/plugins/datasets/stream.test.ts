/**
 * The streaming ImageNet-layout reader on a generated tree: the file index
 * (class folders, flat val + labels file, cache hit and invalidation), batches
 * identical with 0 and 2 worker threads, exact pixels on solid images, the
 * number of decodes in flight bounded by the prefetch depth, typed errors,
 * and the `imagenet` registry entry.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeDefaultRegistry } from "../../../plugins/datasets/builtins.ts"
import { indexImageFolder } from "../../../plugins/datasets/stream/folderIndex.ts"
import { type DecodePool, makeDecodePool } from "../../../plugins/datasets/stream/pool.ts"
import { type StreamBatch, type StreamOptions, streamEpoch } from "../../../plugins/datasets/stream/stream.ts"
import { failureOf, run, tempDir } from "./helpers.ts"

const classes = ["n01", "n02", "n03"]
const shade = (c: number, i: number) => 40 + 60 * c + 5 * i
let root: string
let cache: string
let pool: DecodePool

beforeAll(async () => {
  root = tempDir("imagenet")
  cache = tempDir("index-cache")
  for (const [c, wnid] of classes.entries()) {
    fs.mkdirSync(path.join(root, "imagenet", "train", wnid), { recursive: true })
    for (let i = 0; i < 4; i++) {
      const v = shade(c, i)
      await sharp({ create: { width: 120 + 10 * i, height: 90, channels: 3, background: { r: v, g: v, b: v } } })
        .jpeg({ quality: 100, chromaSubsampling: "4:4:4" })
        .toFile(path.join(root, "imagenet", "train", wnid, `img_${i}.JPEG`))
    }
  }
  fs.mkdirSync(path.join(root, "imagenet", "val"))
  const lines: Array<string> = []
  for (let i = 0; i < 3; i++) {
    await sharp({ create: { width: 64, height: 80, channels: 3, background: { r: 200, g: 100, b: 50 } } }).png().toFile(path.join(root, "imagenet", "val", `val_${i}.png`))
    lines.push(`val_${i}.png ${classes[(i + 1) % 3]}`)
  }
  fs.writeFileSync(path.join(root, "imagenet", "val_labels.txt"), `${lines.join("\n")}\n`)
  pool = makeDecodePool(2)
})
afterAll(() => pool.close())

const options: StreamOptions = { batchSize: 5, size: 16, channels: 3, mode: "train", normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, seed: 7, prefetch: 1 }
const collect = async (it: AsyncIterable<StreamBatch>) => {
  const out: Array<StreamBatch> = []
  for await (const b of it) out.push(b)
  return out
}

describe("indexImageFolder", () => {
  it("indexes class folders and flat val + labels file, and caches by identity", async () => {
    const dir = path.join(root, "imagenet")
    const train = await run(indexImageFolder(dir, "train", { cacheDir: cache }))
    expect(train.classes).toEqual(classes)
    expect(train.files.map((f) => path.relative(dir, f))).toEqual(classes.flatMap((c) => [0, 1, 2, 3].map((i) => path.join("train", c, `img_${i}.JPEG`))))
    expect(Array.from(train.labels)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    expect(train.cached).toBe(false)
    const again = await run(indexImageFolder(dir, "train", { cacheDir: cache }))
    expect(again.cached).toBe(true)
    expect(again.files).toEqual(train.files)
    const val = await run(indexImageFolder(dir, "val", { cacheDir: cache }))
    expect(val.classes).toEqual(classes) // from train/
    expect(Array.from(val.labels)).toEqual([1, 2, 0])
    // Adding a file changes its folder's mtime, hence the identity: the index is rebuilt.
    fs.copyFileSync(train.files[0]!, path.join(dir, "train", "n01", "img_9.JPEG"))
    const grown = await run(indexImageFolder(dir, "train", { cacheDir: cache }))
    expect(grown.cached).toBe(false)
    expect(grown.files.length).toBe(13)
    fs.rmSync(path.join(dir, "train", "n01", "img_9.JPEG"))
    const missing = await failureOf(indexImageFolder(path.join(root, "nowhere"), "train", { cacheDir: cache }))
    expect(missing?._tag).toBe("FileReadError")
  })
})

describe("streamEpoch", () => {
  it("gives the same batches with 0 and 2 worker threads, exact normalized pixels of solid images", async () => {
    const index = await run(indexImageFolder(path.join(root, "imagenet"), "train", { cacheDir: cache }))
    const threaded = await collect(streamEpoch(index, pool, 3, options))
    const inline = await collect(streamEpoch(index, makeDecodePool(0), 3, options))
    expect(threaded.map((b) => b.shape)).toEqual([[5, 3, 16, 16], [5, 3, 16, 16]]) // 12 images, last partial batch dropped in train
    expect(threaded.map((b) => Array.from(b.indices))).toEqual(inline.map((b) => Array.from(b.indices)))
    for (const [k, b] of threaded.entries()) expect(Array.from(b.images)).toEqual(Array.from(inline[k]!.images))
    for (const b of threaded)
      for (let j = 0; j < b.labels.length; j++) {
        const i = b.indices[j]!
        const v = shade(b.labels[j]!, i % 4) // JPEG quality 100, 4:4:4 keeps a solid grey exact
        expect(new Set(b.images.subarray(j * 768, (j + 1) * 768))).toEqual(new Set([Math.fround((v / 255 - 0.5) / 0.25)]))
      }
    const other = await collect(streamEpoch(index, pool, 4, options))
    expect(other.map((b) => Array.from(b.indices))).not.toEqual(threaded.map((b) => Array.from(b.indices)))
  })

  it("keeps at most (prefetch + 1) batches of decodes in flight", async () => {
    const index = await run(indexImageFolder(path.join(root, "imagenet"), "train", { cacheDir: cache }))
    let inFlight = 0
    let peak = 0
    const counting: DecodePool = {
      workers: 2,
      close: async () => undefined,
      run: async (job) => {
        peak = Math.max(peak, ++inFlight)
        try {
          return await pool.run(job)
        } finally {
          inFlight--
        }
      },
    }
    const o = { ...options, batchSize: 2, prefetch: 1 }
    for await (const _ of streamEpoch(index, counting, 0, o)) await new Promise((r) => setTimeout(r, 20)) // a slow consumer
    expect(peak).toBeGreaterThan(2)
    expect(peak).toBeLessThanOrEqual((o.prefetch + 1) * o.batchSize)
  })

  it("a file that does not decode rejects with an ImageDecodeError naming it", async () => {
    const dir = tempDir("bad-tree")
    fs.mkdirSync(path.join(dir, "train", "a"), { recursive: true })
    fs.writeFileSync(path.join(dir, "train", "a", "x.JPEG"), "not a jpeg")
    const index = await run(indexImageFolder(dir, "train", { cacheDir: cache }))
    const err = await collect(streamEpoch(index, pool, 0, { ...options, batchSize: 1 })).then(() => undefined, (e: unknown) => e)
    expect((err as { _tag?: string })._tag).toBe("ImageDecodeError")
    expect(String((err as Error).message)).toContain("x.JPEG")
  })
})

describe("the imagenet entry", () => {
  it("resolves under <data root>/imagenet and loads train / val in memory with the eval transform", async () => {
    const registry = makeDefaultRegistry()
    const spec = await run(registry.resolve("imagenet", { split: "test", dataDir: root, overrides: { maxInMemory: 100 } }))
    expect(spec.options["folder"]).toBe("val")
    const val = await run(registry.load({ ...spec, imageSize: { channels: 3, height: 32, width: 32 } }))
    expect(val.count).toBe(3)
    expect(val.classes).toEqual(classes)
    expect(Array.from(val.labels)).toEqual([0, 1, 2]) // the entry interleaves classes (the index lists val_0..2 as 1, 2, 0)
    expect(Array.from(val.images.subarray(0, 3))).toEqual([200, 200, 200]) // R plane of a solid (200, 100, 50) PNG
    expect(val.images[32 * 32]).toBe(100)
    const capped = await failureOf(registry.load({ ...spec, split: "train", options: { ...spec.options, folder: "train", maxInMemory: 5 } }))
    expect(capped?._tag).toBe("DatasetSpecError")
    expect(capped?.message).toContain("has 12 images")
    const absent = await failureOf(registry.resolve("imagenet", { dataDir: tempDir("empty") }))
    expect(absent?._tag).toBe("DatasetMissingError")
  }, 60_000)
})
