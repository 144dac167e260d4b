/**
 * Category-folder reader (`reader: "category-folders"`): one folder per class
 * under the spec's path (the class names are the folder names, e.g.
 * openclipart's top-level categories `animals`, `food`, ...), every regular
 * `.png` / `.jpg` file below it, recursively; symbolic links are skipped, so
 * an image cross-listed under several categories (openclipart links them)
 * counts once, in the category that holds the file. The files, sorted by
 * path, form each class's pool; {@link balancedSplit} chooses the split and
 * only the chosen files are decoded (`convertImage`).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { FileReadError } from "../errors.ts"
import { readWhole } from "../internal/files.ts"
import { balancedSplit } from "../internal/balancedSplit.ts"
import { assemble, SplitFields } from "../internal/pool.ts"
import type { DatasetReader } from "../reader.ts"
import { checkNormalization, type DatasetSpec, decodeOptions } from "../spec.ts"

/** Options: the split. */
export const CategoryFoldersOptions = Schema.Struct({ ...SplitFields })

const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg"])

const classDirs = (spec: DatasetSpec): Array<string> => spec.classes.map((c) => path.resolve(spec.path, c))

/** Regular image files under `dir` (recursive, no symbolic links), sorted. */
export const listImages = (dir: string): Effect.Effect<Array<string>, FileReadError> =>
  Effect.tryPromise({
    try: async () => {
      const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true })
      return entries
        .filter((d) => d.isFile() && IMAGE_EXT.has(path.extname(d.name).toLowerCase()))
        .map((d) => path.join(d.parentPath, d.name))
        .sort()
    },
    catch: (e) =>
      new FileReadError({ file: dir, reason: (e as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such folder" : String((e as Error)?.message ?? e) }),
  })

/** The category-folder reader. */
export const categoryFoldersReader: DatasetReader = {
  name: "category-folders",
  summary: "one folder per class (recursive, regular PNG/JPEG files, links skipped); seeded balanced split",
  files: classDirs,
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const o = yield* decodeOptions(spec, CategoryFoldersOptions)
      const pools = yield* Effect.forEach(classDirs(spec), listImages)
      const files = pools.flat()
      const labels = Int32Array.from(pools.flatMap((p, c) => p.map(() => c)))
      const chosen = yield* balancedSplit(spec.name, labels, spec.classes, spec.split, o)
      return yield* assemble(
        spec,
        Array.from(chosen, (i) => {
          const file = files[i] as string
          return {
            file,
            label: labels[i] as number,
            input: () => readWhole(file).pipe(Effect.map((bytes) => ({ kind: "encoded" as const, bytes }))),
          }
        }),
      )
    }),
}
