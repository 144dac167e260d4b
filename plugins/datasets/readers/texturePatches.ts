/**
 * Texture-patch reader (`reader: "texture-patches"`): one photograph per
 * class (e.g. scikit-image's `brick.png`, `grass.png`, `gravel.png`, 512 x
 * 512 grey, Debian `python3-skimage`), cut into non-overlapping `patch` x
 * `patch` windows on a grid from the top-left corner; the windows of all
 * photographs form the pool, split by {@link balancedSplit} and converted
 * by `convertImage`. Train and test windows never overlap in pixels, but
 * they come from the same photograph (the usual texture-patch protocol).
 */
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { DatasetSpecError } from "../errors.ts"
import { readWhole } from "../internal/files.ts"
import { balancedSplit } from "../internal/balancedSplit.ts"
import { assemble, crop, decodeGrey, SplitFields } from "../internal/pool.ts"
import type { DatasetReader } from "../reader.ts"
import { checkNormalization, type DatasetSpec, decodeOptions } from "../spec.ts"

/** Options: one photograph per class (relative to the spec's path, class order), the window size, the split. */
export const TexturePatchesOptions = Schema.Struct({
  files: Schema.Array(Schema.String),
  patch: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4096 })),
  ...SplitFields,
})

const photoFiles = (spec: DatasetSpec): Array<string> => {
  const f = spec.options["files"]
  return (Array.isArray(f) ? f : []).map((name) => path.resolve(spec.path, name))
}

/** The texture-patch reader. */
export const texturePatchesReader: DatasetReader = {
  name: "texture-patches",
  summary: "one photograph per class cut into non-overlapping patch x patch windows; seeded balanced split",
  files: photoFiles,
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const o = yield* decodeOptions(spec, TexturePatchesOptions)
      const files = photoFiles(spec)
      if (files.length !== spec.classes.length)
        return yield* new DatasetSpecError({
          dataset: spec.name,
          field: "options.files",
          value: JSON.stringify(o.files),
          expected: `one photograph per class (${spec.classes.length}: ${spec.classes.join(", ")})`,
        })
      const photos = yield* Effect.forEach(files, (f) => readWhole(f).pipe(Effect.flatMap((b) => decodeGrey(f, b))))
      const windows: Array<{ readonly photo: number; readonly x: number; readonly y: number }> = []
      for (const [photo, img] of photos.entries())
        for (let y = 0; y + o.patch <= img.height; y += o.patch)
          for (let x = 0; x + o.patch <= img.width; x += o.patch) windows.push({ photo, x, y })
      const labels = Int32Array.from(windows, (w) => w.photo)
      const chosen = yield* balancedSplit(spec.name, labels, spec.classes, spec.split, o)
      return yield* assemble(
        spec,
        Array.from(chosen, (i) => {
          const w = windows[i] as (typeof windows)[number]
          const img = photos[w.photo] as (typeof photos)[number]
          return {
            file: `${files[w.photo]} (window at x=${w.x}, y=${w.y})`,
            label: w.photo,
            input: () => Effect.succeed({ kind: "raw" as const, pixels: crop(img, w.x, w.y, o.patch), width: o.patch, height: o.patch }),
          }
        }),
      )
    }),
}
