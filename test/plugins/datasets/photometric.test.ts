/**
 * DINO's photometric views (brightness/contrast jitter, solarization) on a
 * rendered, normalized view: off means untouched and no random draw;
 * solarization inverts exactly the bright pixels; jitter stays in [0, 1] and
 * is a monotone map of the grey levels; multi-crop applies solarization to the
 * second global view only.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { compileAugmentation, multiCrop } from "../../../plugins/datasets/augment/augmentation.ts"
import { applyPhotometric, noPhotometric } from "../../../plugins/datasets/augment/photometric.ts"
import { pixelMap } from "../../../plugins/datasets/augment/resizedCrop.ts"
import type { ImageSet } from "../../../plugins/datasets/ImageSet.ts"
import { Rng } from "../../../plugins/datasets/prng.ts"

const norm = { mean: [0.3], std: [0.25] }
const map = pixelMap(norm.mean, norm.std)
const levels = [0, 0.1, 0.25, 0.49, 0.5, 0.75, 1]
const normalized = () => Float32Array.from(levels, (u) => (u - 0.3) / 0.25)
const unit = (v: Float32Array) => Array.from(v, (x) => x * 0.25 + 0.3)

describe("photometric augmentation", () => {
  it("does nothing and draws no random number when off", () => {
    const v = normalized()
    const r = Rng.seeded(3)
    applyPhotometric(r, noPhotometric, map, v, 0, 1, v.length)
    expect(Array.from(v)).toEqual(Array.from(normalized()))
    expect(r.float()).toBe(Rng.seeded(3).float())
  })

  it("solarization maps u >= 0.5 to 1 - u and leaves darker pixels", () => {
    const v = normalized()
    applyPhotometric(Rng.seeded(1), { jitter: 0, jitterProb: 0, solarizeProb: 1 }, map, v, 0, 1, v.length)
    unit(v).forEach((u, i) => {
      const l = levels[i] as number
      expect(u).toBeCloseTo(l >= 0.5 ? 1 - l : l, 5)
    })
  })

  it("jitter keeps pixels in [0, 1], keeps their order, and changes the view", () => {
    let changed = 0
    for (let seed = 0; seed < 50; seed++) {
      const v = normalized()
      applyPhotometric(Rng.seeded(seed), { jitter: 0.4, jitterProb: 1, solarizeProb: 0 }, map, v, 0, 1, v.length)
      const u = unit(v)
      u.forEach((x, i) => {
        expect(x).toBeGreaterThanOrEqual(-1e-6)
        expect(x).toBeLessThanOrEqual(1 + 1e-6)
        if (i > 0) expect(x).toBeGreaterThanOrEqual((u[i - 1] as number) - 1e-6)
      })
      if (u.some((x, i) => Math.abs(x - (levels[i] as number)) > 1e-3)) changed++
    }
    expect(changed).toBe(50)
  })

  it("writes only its own view of a batch buffer", () => {
    const buf = new Float32Array(3 * levels.length).fill(7)
    buf.set(normalized(), levels.length)
    applyPhotometric(Rng.seeded(2), { jitter: 0.4, jitterProb: 1, solarizeProb: 1 }, map, buf, levels.length, 1, levels.length)
    expect(Array.from(buf.subarray(0, levels.length)).every((x) => x === 7)).toBe(true)
    expect(Array.from(buf.subarray(2 * levels.length)).every((x) => x === 7)).toBe(true)
  })

  it("multi-crop solarizes the second global view only", async () => {
    // A constant bright image: every crop is the same, so only photometry can differ.
    const set: ImageSet = {
      name: "t", split: "train", count: 1, channels: 1, height: 8, width: 8, classes: ["a"],
      images: new Uint8Array(64).fill(204), labels: Int32Array.from([0]),
    }
    const aug = multiCrop({ globalSize: 8, localSize: 4, localCrops: 2, solarize: 1 })
    const c = await Effect.runPromise(compileAugmentation(aug, { channels: 1, height: 8, width: 8 }, norm))
    const views = c.views.map((s) => new Float32Array(s.height * s.width))
    c.apply(set, 0, Rng.seeded(4), { views, mask: undefined, keep: undefined }, 0)
    const means = views.map((v) => unit(v).reduce((a, b) => a + b, 0) / v.length)
    expect(means[0]).toBeCloseTo(0.8, 4)
    expect(means[1]).toBeCloseTo(0.2, 4)
    expect(means[2]).toBeCloseTo(0.8, 4)
    expect(means[3]).toBeCloseTo(0.8, 4)
  })

  it("rejects a jitter strength outside [0, 1]", async () => {
    const exit = await Effect.runPromiseExit(compileAugmentation(multiCrop({ globalSize: 8, jitter: 2 }), { channels: 1, height: 8, width: 8 }, norm))
    expect(exit._tag).toBe("Failure")
  })
})
