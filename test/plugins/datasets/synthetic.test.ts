import { describe, expect, it } from "vitest"
import { makeDefaultRegistry } from "../../../plugins/datasets/builtins.ts"
import { countPerClass, type ImageSet } from "../../../plugins/datasets/ImageSet.ts"
import { syntheticVariants } from "../../../plugins/datasets/readers/synthetic.ts"
import { failureOf, run } from "./helpers.ts"

const registry = makeDefaultRegistry()
const load = (variant: string, split: "train" | "test", count: number, seed = 0) =>
  run(registry.resolve(`synthetic-${variant}`, { split, overrides: { count, seed } }).pipe((e) => e)).then((spec) => run(registry.load(spec)))

/** Raw pixels, or a 4-bin intensity histogram (translation invariant: counts blobs). */
const features = (set: ImageSet, kind: "pixels" | "histogram"): { per: number; f: Float64Array } => {
  const per = set.channels * set.height * set.width
  if (kind === "pixels") return { per, f: Float64Array.from(set.images) }
  const f = new Float64Array(set.count * 4)
  for (let i = 0; i < set.count; i++) for (let j = 0; j < per; j++) f[i * 4 + ((set.images[i * per + j] as number) >> 6)]! += 1
  return { per: 4, f }
}

/** 1-nearest-neighbour accuracy (an independent, model-free learnability check). */
const oneNN = (train: ImageSet, test: ImageSet, kind: "pixels" | "histogram"): number => {
  const { per, f: a } = features(train, kind)
  const { f: b } = features(test, kind)
  let correct = 0
  for (let t = 0; t < test.count; t++) {
    let best = Infinity
    let label = -1
    for (let i = 0; i < train.count; i++) {
      let d = 0
      for (let j = 0; j < per; j++) {
        const diff = (b[t * per + j] as number) - (a[i * per + j] as number)
        d += diff * diff
      }
      if (d < best) {
        best = d
        label = train.labels[i] as number
      }
    }
    if (label === test.labels[t]) correct++
  }
  return correct / test.count
}

describe("synthetic datasets", () => {
  it.each(Object.keys(syntheticVariants))("%s is seeded, balanced, split-distinct and learnable", async (variant) => {
    const k = syntheticVariants[variant as keyof typeof syntheticVariants].length
    const a = await load(variant, "train", 40 * k)
    const b = await load(variant, "train", 40 * k)
    const other = await load(variant, "train", 40 * k, 1)
    const test = await load(variant, "test", 10 * k)
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true)
    expect(Buffer.from(a.images).equals(Buffer.from(other.images))).toBe(false)
    expect(countPerClass(a)).toEqual(new Array(k).fill(40))
    expect(Buffer.from(test.images.subarray(0, 100)).equals(Buffer.from(a.images.subarray(0, 100)))).toBe(false)
    // Not noise: a model-free classifier is far above chance (1/k).
    const acc = Math.max(oneNN(a, test, "pixels"), oneNN(a, test, "histogram"))
    expect(acc).toBeGreaterThan(Math.min(0.9, 3 / k))
  })

  it("rejects class lists and channel counts that do not fit the variant", async () => {
    const spec = await run(registry.resolve("synthetic-colors"))
    expect(await failureOf(registry.load({ ...spec, classes: ["a"] }))).toMatchObject({ _tag: "DatasetSpecError", field: "classes" })
    expect(
      await failureOf(registry.load({ ...spec, imageSize: { channels: 1, height: 8, width: 8 }, normalization: { mean: [0], std: [1] } })),
    ).toMatchObject({ _tag: "DatasetSpecError", field: "imageSize.channels" })
    expect(await failureOf(registry.load({ ...spec, options: { ...spec.options, variant: "stars" } }))).toMatchObject({ _tag: "DatasetSpecError", field: "options" })
  })
})
