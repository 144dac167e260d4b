/**
 * Procedural datasets for tests and smoke runs: seeded, balanced, learnable.
 * Each variant has its own class structure, so variants serve as distinct
 * downstream tasks:
 * - `shapes` (10 classes, grey): which shape (circle, square, triangle, plus,
 *   ring, bars, diamond, X, two dots), at a random position, scale and
 *   brightness on a noisy background;
 * - `textures` (8 classes, grey): sinusoidal gratings, 4 orientations x 2
 *   frequencies, random phase and contrast;
 * - `counting` (5 classes, grey): how many blobs (1..5);
 * - `colors` (6 classes, RGB): the hue of a disc or square.
 * Example i of a split is a pure function of (seed, split, variant, i).
 */
import { Effect, Schema } from "effect"
import type { ImageSet } from "../ImageSet.ts"
import { Rng } from "../prng.ts"
import type { DatasetReader } from "../reader.ts"
import { checkNormalization, type DatasetSpec, decodeOptions } from "../spec.ts"
import { DatasetSpecError } from "../errors.ts"

/** Class names of each variant, in label order. */
export const syntheticVariants = {
  shapes: ["circle", "square", "triangle", "plus", "ring", "hbar", "vbar", "diamond", "x", "two-dots"],
  textures: ["h-low", "h-high", "d45-low", "d45-high", "v-low", "v-high", "d135-low", "d135-high"],
  counting: ["one", "two", "three", "four", "five"],
  colors: ["red", "green", "blue", "yellow", "cyan", "magenta"],
} as const
export type SyntheticVariant = keyof typeof syntheticVariants

/** Options of a synthetic dataset. */
export const SyntheticOptions = Schema.Struct({
  variant: Schema.Literals(["shapes", "textures", "counting", "colors"]),
  /** Examples in the split (balanced: label = index mod classes). */
  count: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 })),
  seed: Schema.Int,
})

type Inside = (p: number, q: number) => boolean
const shapes: ReadonlyArray<Inside> = [
  (p, q) => p * p + q * q <= 1,
  (p, q) => Math.max(Math.abs(p), Math.abs(q)) <= 0.85,
  (p, q) => q >= -0.85 && q <= 0.85 && Math.abs(p) <= ((q + 0.85) / 1.7) * 0.95,
  (p, q) => (Math.abs(p) <= 0.3 && Math.abs(q) <= 1) || (Math.abs(q) <= 0.3 && Math.abs(p) <= 1),
  (p, q) => p * p + q * q <= 1 && p * p + q * q >= 0.36,
  (p, q) => Math.abs(q) <= 0.3 && Math.abs(p) <= 1,
  (p, q) => Math.abs(p) <= 0.3 && Math.abs(q) <= 1,
  (p, q) => Math.abs(p) + Math.abs(q) <= 1,
  (p, q) => (Math.abs(p - q) <= 0.4 || Math.abs(p + q) <= 0.4) && Math.max(Math.abs(p), Math.abs(q)) <= 0.9,
  (p, q) => (p - 0.55) ** 2 + q * q <= 0.18 || (p + 0.55) ** 2 + q * q <= 0.18,
]
const hues: ReadonlyArray<readonly [number, number, number]> = [
  [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1],
]
const VARIANT_CODE: Record<SyntheticVariant, number> = { shapes: 1, textures: 2, counting: 3, colors: 4 }

const toByte = (v: number): number => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255))

/** Renders example `label` into `out` (CHW, values in [0,1] before quantization). */
const render = (variant: SyntheticVariant, label: number, rng: Rng, c: number, h: number, w: number, out: Uint8Array, base: number) => {
  const plane = h * w
  const noise = 0.06
  const bg = rng.uniform(0.0, 0.2)
  const at = (x: number, y: number) => [((x + 0.5) / w) * 2 - 1, ((y + 0.5) / h) * 2 - 1] as const
  if (variant === "textures") {
    const theta = (Math.floor(label / 2) * Math.PI) / 4
    const freq = (label % 2 === 0 ? 1.5 : 4) * Math.PI
    const phase = rng.uniform(0, 2 * Math.PI)
    const contrast = rng.uniform(0.25, 0.45)
    const ct = Math.cos(theta)
    const st = Math.sin(theta)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const [u, v] = at(x, y)
        const val = 0.5 + contrast * Math.sin(freq * (u * ct + v * st) + phase) + noise * rng.normal()
        for (let k = 0; k < c; k++) out[base + k * plane + y * w + x] = toByte(val)
      }
    return
  }
  // Object variants: a list of (center, scale, inside-test) drawn over a noisy background.
  const objs: Array<{ cx: number; cy: number; s: number; inside: Inside }> = []
  if (variant === "counting") {
    const n = label + 1
    for (let tries = 0; objs.length < n && tries < 200; tries++) {
      const cand = { cx: rng.uniform(-0.75, 0.75), cy: rng.uniform(-0.75, 0.75), s: rng.uniform(0.15, 0.16), inside: shapes[0] as Inside }
      if (objs.every((o) => Math.hypot(o.cx - cand.cx, o.cy - cand.cy) > o.s + cand.s + 0.08)) objs.push(cand)
    }
  } else {
    const inside = variant === "shapes" ? (shapes[label] as Inside) : (shapes[rng.int(2)] as Inside)
    objs.push({ cx: rng.uniform(-0.25, 0.25), cy: rng.uniform(-0.25, 0.25), s: rng.uniform(0.45, 0.65), inside })
  }
  const fg = variant === "counting" ? rng.uniform(0.85, 1) : rng.uniform(0.65, 1)
  const hue = variant === "colors" ? (hues[label] as readonly [number, number, number]) : ([1, 1, 1] as const)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [u, v] = at(x, y)
      let hit = false
      for (const o of objs) if (o.inside((u - o.cx) / o.s, (v - o.cy) / o.s)) hit = true
      for (let k = 0; k < c; k++) {
        const val = (hit ? fg * (hue[k] ?? 1) + (1 - (hue[k] ?? 1)) * bg : bg) + noise * rng.normal()
        out[base + k * plane + y * w + x] = toByte(val)
      }
    }
}

/** Generates a synthetic split in memory. */
export const generateSynthetic = (
  spec: DatasetSpec,
  options: { readonly variant: SyntheticVariant; readonly count: number; readonly seed: number },
): ImageSet => {
  const { channels: c, height: h, width: w } = spec.imageSize
  const classes = syntheticVariants[options.variant]
  const per = c * h * w
  const images = new Uint8Array(options.count * per)
  const labels = new Int32Array(options.count)
  const splitCode = spec.split === "train" ? 0 : 1
  for (let i = 0; i < options.count; i++) {
    const label = i % classes.length
    labels[i] = label
    render(options.variant, label, Rng.derive(options.seed, splitCode, VARIANT_CODE[options.variant], i), c, h, w, images, i * per)
  }
  return { name: spec.name, split: spec.split, images, labels, count: options.count, channels: c, height: h, width: w, classes: [...classes] }
}

/** The synthetic reader (`reader: "synthetic"`): reads no files. */
export const syntheticReader: DatasetReader = {
  name: "synthetic",
  summary: "procedural images: options { variant: shapes | textures | counting | colors, count, seed }",
  files: () => [],
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const o = yield* decodeOptions(spec, SyntheticOptions)
      const classes = syntheticVariants[o.variant]
      if (spec.classes.length > 0 && spec.classes.join("\u0000") !== classes.join("\u0000"))
        return yield* new DatasetSpecError({
          dataset: spec.name,
          field: "classes",
          value: JSON.stringify(spec.classes),
          expected: `${JSON.stringify(classes)} (the ${o.variant} variant's classes) or []`,
        })
      if (o.variant === "colors" && spec.imageSize.channels !== 3)
        return yield* new DatasetSpecError({
          dataset: spec.name,
          field: "imageSize.channels",
          value: String(spec.imageSize.channels),
          expected: "3 for the colors variant",
        })
      return generateSynthetic(spec, o)
    }),
}
