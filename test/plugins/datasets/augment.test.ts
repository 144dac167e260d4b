import "@tensorflow/tfjs-backend-cpu"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { compileAugmentation, masked, multiCrop, randomCrop, resize } from "../../../plugins/datasets/augment/augmentation.ts"
import { drawPatchMask, maskedCount } from "../../../plugins/datasets/augment/masking.ts"
import { type CropBox, fullBox, pixelMap, renderCrop, sampleResizedCrop } from "../../../plugins/datasets/augment/resizedCrop.ts"
import type { ImageSet } from "../../../plugins/datasets/ImageSet.ts"
import { Rng } from "../../../plugins/datasets/prng.ts"
import { failureOf, run } from "./helpers.ts"

const rng = Rng.seeded(5)
const set: ImageSet = {
  name: "t", split: "train", count: 3, channels: 2, height: 9, width: 11, classes: ["a", "b"],
  images: Uint8Array.from({ length: 3 * 2 * 9 * 11 }, () => rng.int(256)), labels: Int32Array.from([0, 1, 0]),
}
const identity = { mean: [0, 0], std: [1 / 255, 1 / 255] } // maps bytes to themselves

beforeAll(async () => {
  await tf.setBackend("cpu")
})

/** Reference: crop with tf.slice, then tf.image.resizeBilinear (half-pixel centres), optional flip. */
const tfReference = (i: number, box: CropBox, outH: number, outW: number, flip: boolean): Float32Array =>
  tf.tidy(() => {
    const chw = tf.tensor3d(Array.from(set.images.subarray(i * 198, (i + 1) * 198)), [2, 9, 11])
    let hwc = tf.slice(tf.transpose(chw, [1, 2, 0]), [box.top, box.left, 0], [box.height, box.width, 2]) as tf.Tensor3D
    hwc = tf.image.resizeBilinear(hwc, [outH, outW], false, true)
    if (flip) hwc = tf.reverse(hwc, 1)
    return tf.transpose(hwc, [2, 0, 1]).dataSync() as Float32Array
  })

describe("random resized crop", () => {
  it("samples boxes inside the image with area and aspect in range (or the centre fallback)", () => {
    const r = Rng.seeded(1)
    for (let k = 0; k < 2000; k++) {
      const b = sampleResizedCrop(r, 9, 11, [0.08, 1], [3 / 4, 4 / 3])
      expect(b.top >= 0 && b.left >= 0 && b.top + b.height <= 9 && b.left + b.width <= 11).toBe(true)
      expect(b.height * b.width).toBeGreaterThan(0)
    }
    const fb = sampleResizedCrop(Rng.seeded(2), 10, 40, [0.99, 1], [1, 1]) // no square of 99% area fits: centre crop
    expect(fb).toEqual({ top: 0, left: 15, height: 10, width: 10 })
  })

  it("crop + bilinear resize + flip matches tf.image.resizeBilinear on the cropped image", () => {
    const r = Rng.seeded(3)
    const map = pixelMap(identity.mean, identity.std)
    for (let k = 0; k < 40; k++) {
      const box = k === 0 ? fullBox(9, 11) : sampleResizedCrop(r, 9, 11, [0.1, 1], [0.5, 2])
      const [oh, ow] = [1 + r.int(16), 1 + r.int(16)]
      const flip = r.float() < 0.5
      const i = r.int(3)
      const out = new Float32Array(2 * oh * ow)
      renderCrop(set.images, i * 198, 2, 9, 11, box, flip, oh, ow, map, out, 0)
      const ref = tfReference(i, box, oh, ow, flip)
      for (let j = 0; j < out.length; j++) expect(out[j]).toBeCloseTo(ref[j] as number, 3)
    }
  })

  it("normalizes: (x / 255 - mean) / std per channel; full-size resize is exact", async () => {
    const norm = { mean: [0.25, 0.5], std: [0.5, 2] }
    const aug = await run(compileAugmentation(resize(), set, norm))
    const out = new Float32Array(2 * 99)
    aug.apply(set, 1, Rng.seeded(0), { views: [out], mask: undefined, keep: undefined }, 0)
    for (let c = 0; c < 2; c++)
      for (let p = 0; p < 99; p++) {
        const v = set.images[198 + c * 99 + p] as number
        expect(out[c * 99 + p]).toBeCloseTo((v / 255 - norm.mean[c]!) / norm.std[c]!, 5)
      }
  })
})

const applyAll = async (aug: Parameters<typeof compileAugmentation>[0], seed: number) => {
  const c = await run(compileAugmentation(aug, set, identity))
  const views = c.views.map((v) => new Float32Array(3 * v.channels * v.height * v.width))
  const m = c.mask
  const mask = m && new Uint8Array(3 * m.numPatches)
  const keep = m && new Int32Array(3 * (m.numPatches - m.numMasked))
  for (let i = 0; i < 3; i++) c.apply(set, i, Rng.derive(seed, i), { views, mask, keep }, i)
  return { c, views, mask, keep }
}
const bits = (xs: ReadonlyArray<ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number } | undefined>) =>
  Buffer.concat(xs.filter((x) => x !== undefined).map((x) => Buffer.from(x!.buffer, x!.byteOffset, x!.byteLength)))

describe("augmentations", () => {
  it.each([
    ["random-crop", randomCrop({ size: 8 })],
    ["multi-crop", multiCrop({ globalSize: 8, localSize: 4, localCrops: 3 })],
    ["masked", masked({ size: 8, patchSize: 2 })],
  ] as const)("%s: same seed -> identical bits, other seed -> different", async (_name, aug) => {
    const a = await applyAll(aug, 11)
    const b = await applyAll(aug, 11)
    const d = await applyAll(aug, 12)
    expect(bits([...a.views, a.mask, a.keep]).equals(bits([...b.views, b.mask, b.keep]))).toBe(true)
    expect(bits([...a.views, a.mask]).equals(bits([...d.views, d.mask]))).toBe(false)
  })

  it("multi-crop gives 2 global + N local views of the configured sizes", async () => {
    const { c } = await applyAll(multiCrop({ globalSize: 8, localSize: 4, localCrops: 5 }), 1)
    expect(c.views.map((v) => v.height)).toEqual([8, 8, 4, 4, 4, 4, 4])
    expect(multiCrop({ globalSize: 224 }).localSize).toBe(96)
  })

  it("MAE masking masks exactly round(ratio * numPatches) per image; keep lists the rest, ascending", async () => {
    for (const [numPatches, ratio] of [[49, 0.75], [196, 0.75], [16, 0.5], [10, 0.33], [1, 0]] as const) {
      const k = maskedCount(numPatches, ratio)
      expect(k).toBe(Math.round(ratio * numPatches))
      const r = Rng.seeded(numPatches)
      const mask = new Uint8Array(numPatches * 20)
      const keep = new Int32Array((numPatches - k) * 20)
      const seen = new Array<number>(numPatches).fill(0)
      for (let i = 0; i < 20; i++) {
        drawPatchMask(r, numPatches, k, mask, i * numPatches, keep, i * (numPatches - k))
        const row = mask.subarray(i * numPatches, (i + 1) * numPatches)
        expect(row.reduce((s, v) => s + v, 0)).toBe(k)
        const kept = Array.from(keep.subarray(i * (numPatches - k), (i + 1) * (numPatches - k)))
        expect(kept).toEqual(Array.from({ length: numPatches }, (_, p) => p).filter((p) => row[p] === 0))
        row.forEach((v, p) => (seen[p]! += v))
      }
      if (k > 0 && k < numPatches) expect(seen.filter((s) => s > 0).length).toBeGreaterThan(numPatches / 2) // masks vary
    }
    const { c, mask } = await applyAll(masked({ size: 8, patchSize: 2 }), 3)
    expect(c.mask).toEqual({ patchSize: 2, numPatches: 16, numMasked: 12 })
    expect(mask!.reduce((s, v) => s + v, 0)).toBe(36)
  })

  it("a flipped full crop at native size mirrors the image exactly", () => {
    const out = new Float32Array(2 * 99)
    renderCrop(set.images, 0, 2, 9, 11, fullBox(9, 11), true, 9, 11, pixelMap(identity.mean, identity.std), out, 0)
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < 9; y++) for (let x = 0; x < 11; x++) expect(out[c * 99 + y * 11 + x]).toBeCloseTo(set.images[c * 99 + y * 11 + 10 - x]!, 4)
  })

  it("bad parameters fail with AugmentationConfigError naming the field", async () => {
    expect(await failureOf(compileAugmentation(masked({ size: 8, patchSize: 3 }), set, identity))).toMatchObject({ _tag: "AugmentationConfigError", field: "patchSize" })
    expect(await failureOf(compileAugmentation(randomCrop({ size: 8, scale: [0.5, 0.1] }), set, identity))).toMatchObject({ field: "scale" })
    expect(await failureOf(compileAugmentation(randomCrop({ size: 0 }), set, identity))).toMatchObject({ field: "size" })
    expect(await failureOf(compileAugmentation(masked({ size: 8, patchSize: 2, maskRatio: 1 }), set, identity))).toMatchObject({ field: "maskRatio" })
    expect(await failureOf(Effect.succeed(1))).toBeUndefined()
  })
})
