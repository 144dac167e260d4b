/**
 * Digit-sheet reader (`reader: "digit-sheet"`): one grey image tiled with
 * `cell` x `cell` handwritten digits, `rowsPerClass` rows per class, classes
 * top to bottom: OpenCV's `samples/data/digits.png` (2000 x 1000 px, 100
 * columns x 50 rows of 20 x 20 cells, 500 of each digit 0-9, Debian
 * `opencv-doc`). The sheet's shape must be exactly that grid. Cells are
 * split by {@link balancedSplit} and converted by `convertImage`.
 */
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { DatasetSpecError } from "../errors.ts"
import { readWhole } from "../internal/files.ts"
import { balancedSplit } from "../internal/balancedSplit.ts"
import { assemble, crop, decodeGrey, SplitFields } from "../internal/pool.ts"
import type { DatasetReader } from "../reader.ts"
import { checkNormalization, type DatasetSpec, decodeOptions } from "../spec.ts"

const Positive = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4096 }))

/** Options: the sheet (relative to the spec's path), the cell size, rows per class, the split. */
export const DigitSheetOptions = Schema.Struct({ file: Schema.String, cell: Positive, rowsPerClass: Positive, ...SplitFields })

const sheetFile = (spec: DatasetSpec): string => path.resolve(spec.path, String(spec.options["file"] ?? ""))

/** The digit-sheet reader. */
export const digitSheetReader: DatasetReader = {
  name: "digit-sheet",
  summary: "one image tiled with cell x cell digits, rowsPerClass rows per class (OpenCV's digits.png); seeded balanced split",
  files: (spec) => [sheetFile(spec)],
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const o = yield* decodeOptions(spec, DigitSheetOptions)
      const file = sheetFile(spec)
      const sheet = yield* decodeGrey(file, yield* readWhole(file))
      const rows = spec.classes.length * o.rowsPerClass
      if (sheet.height !== rows * o.cell || sheet.width % o.cell !== 0)
        return yield* new DatasetSpecError({
          dataset: spec.name,
          field: "options.cell",
          value: `${o.cell} (sheet ${file} is ${sheet.width}x${sheet.height})`,
          expected: `a sheet ${rows * o.cell} px high (${spec.classes.length} classes x ${o.rowsPerClass} rows x ${o.cell} px) and a multiple of ${o.cell} px wide`,
        })
      const cols = sheet.width / o.cell
      const labels = Int32Array.from({ length: rows * cols }, (_, i) => Math.floor(Math.floor(i / cols) / o.rowsPerClass))
      const chosen = yield* balancedSplit(spec.name, labels, spec.classes, spec.split, o)
      return yield* assemble(
        spec,
        Array.from(chosen, (i) => {
          const x = (i % cols) * o.cell
          const y = Math.floor(i / cols) * o.cell
          return {
            file: `${file} (cell at x=${x}, y=${y})`,
            label: labels[i] as number,
            input: () => Effect.succeed({ kind: "raw" as const, pixels: crop(sheet, x, y, o.cell), width: o.cell, height: o.cell }),
          }
        }),
      )
    }),
}
