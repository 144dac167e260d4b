/**
 * The file index of an ImageNet-layout folder (file names and labels, never
 * pixels):
 *
 * - `<root>/<split>/<wnid>/*.{JPEG,jpg,jpeg,png}`: one folder per class,
 *   sorted wnids give the label order (torchvision's ImageFolder);
 * - `<root>/val/*.JPEG` flat, with a labels file `<root>/val_labels.txt`
 *   (`<file> <wnid>` per line) or `<root>/LOC_val_solution.csv` (Kaggle:
 *   `ImageId,<wnid> ...`), the classes taken from `<root>/train/` when it
 *   exists, else from the labels.
 *
 * Listing 1.28M files takes minutes, so the index is cached as JSON under
 * `cacheDir`, keyed by its identity: the sha256 of the split folder's path,
 * every class folder's name and mtime (a folder's mtime changes when files
 * are added, removed or renamed in it) and the labels file's size and mtime.
 */
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { DatasetSpecError, FileReadError } from "../errors.ts"

/** A split's files and labels. */
export interface FolderIndex {
  readonly root: string
  readonly split: string
  readonly classes: ReadonlyArray<string>
  /** Absolute paths, class by class, sorted within each class (`interleaveClasses` reorders them). */
  readonly files: ReadonlyArray<string>
  readonly labels: Int32Array
  readonly identity: string
  /** Whether this index came from the cache. */
  readonly cached: boolean
}

const IMAGE = /\.(jpe?g|png)$/i
/** Default index cache folder. */
export const defaultIndexCache = (): string => path.join(os.tmpdir(), "ssl-kd-index")

const io = <A>(file: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new FileReadError({ file, reason: (e as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such file or folder" : String((e as Error)?.message ?? e) }),
  })

const subdirs = (dir: string) =>
  io(dir, async () => (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith(".")).map((d) => d.name).sort())

const LABEL_FILES = ["val_labels.txt", "LOC_val_solution.csv"]

/** Reads `<file> <wnid>` or `ImageId,<wnid> ...` lines into a map from file stem to wnid. */
const readLabels = (file: string) =>
  io(file, async () => {
    const out = new Map<string, string>()
    for (const line of (await fs.readFile(file, "utf8")).split(/\r?\n/)) {
      const [name, rest] = line.includes(",") ? line.split(",", 2) : line.trim().split(/\s+/, 2)
      const wnid = rest?.trim().split(/\s+/)[0]
      if (name === undefined || wnid === undefined || name === "ImageId" || name === "") continue
      out.set(path.parse(name.trim()).name, wnid)
    }
    return out
  })

/** Indexes `<root>/<split>` (see the module comment), through the cache. */
export const indexImageFolder = (
  root: string,
  split: string,
  o: { readonly cacheDir?: string; readonly dataset?: string } = {},
): Effect.Effect<FolderIndex, FileReadError | DatasetSpecError> =>
  Effect.gen(function* () {
    const dataset = o.dataset ?? "imagenet"
    const dir = path.join(root, split)
    const classDirs = yield* subdirs(dir)
    const labelFile = classDirs.length > 0 ? undefined : LABEL_FILES.map((f) => path.join(root, f)).find((f) => existsSync(f))
    if (classDirs.length === 0 && labelFile === undefined)
      return yield* new DatasetSpecError({ dataset, field: "path", value: dir, expected: `one folder per class in ${dir}, or flat images with ${LABEL_FILES.map((f) => path.join(root, f)).join(" or ")}` })
    const hash = createHash("sha256").update(path.resolve(dir))
    for (const c of classDirs) hash.update(`\0${c}\0${(yield* io(dir, () => fs.stat(path.join(dir, c)))).mtimeMs}`)
    if (labelFile !== undefined) {
      const st = yield* io(labelFile, () => fs.stat(labelFile))
      const dst = yield* io(dir, () => fs.stat(dir))
      hash.update(`\0${labelFile}\0${st.size}\0${st.mtimeMs}\0${dst.mtimeMs}`)
    }
    const identity = hash.digest("hex")
    const cacheFile = path.join(o.cacheDir ?? defaultIndexCache(), `${dataset}-${split}-${identity.slice(0, 32)}.json`)
    const hit = yield* Effect.promise(() => fs.readFile(cacheFile, "utf8").then((t) => JSON.parse(t) as { classes: Array<string>; files: Array<string>; labels: Array<number> }, () => undefined))
    if (hit !== undefined) return { root, split, classes: hit.classes, files: hit.files.map((f) => path.join(dir, f)), labels: Int32Array.from(hit.labels), identity, cached: true }
    const classes: Array<string> = [...classDirs]
    const files: Array<string> = []
    const labels: Array<number> = []
    if (labelFile === undefined) {
      for (const [label, c] of classDirs.entries()) {
        const names = yield* io(path.join(dir, c), () => fs.readdir(path.join(dir, c)))
        for (const n of names.filter((n) => IMAGE.test(n)).sort()) (files.push(path.join(c, n)), labels.push(label))
      }
    } else {
      const byStem = yield* readLabels(labelFile)
      const trainClasses = yield* subdirs(path.join(root, "train")).pipe(Effect.orElseSucceed(() => [] as Array<string>))
      classes.push(...(trainClasses.length > 0 ? trainClasses : [...new Set(byStem.values())].sort()))
      const names = (yield* io(dir, () => fs.readdir(dir))).filter((n) => IMAGE.test(n)).sort()
      for (const n of names) {
        const wnid = byStem.get(path.parse(n).name)
        const label = wnid === undefined ? -1 : classes.indexOf(wnid)
        if (label < 0)
          return yield* new DatasetSpecError({ dataset, field: "labels", value: `${n}: ${wnid ?? "no line"}`, expected: `a line in ${labelFile} naming one of the ${classes.length} classes` })
        files.push(n)
        labels.push(label)
      }
    }
    yield* Effect.promise(async () => {
      await fs.mkdir(path.dirname(cacheFile), { recursive: true }).catch(() => undefined)
      const tmp = `${cacheFile}.${process.pid}.tmp`
      await fs.writeFile(tmp, JSON.stringify({ classes, files, labels })).then(() => fs.rename(tmp, cacheFile)).catch(() => undefined)
    })
    return { root, split, classes, files: files.map((f) => path.join(dir, f)), labels: Int32Array.from(labels), identity, cached: false }
  })

/**
 * The index in class-interleaved order: the k-th file of every class (in
 * class order) before the (k+1)-th of any, each class's files kept in their
 * sorted order. Stages that read "the first N" of a split (`trainCount`,
 * `testCount`, `calibrationCount`) then see every class about equally, where
 * the class-by-class listing would give them only the first classes.
 */
export const interleaveClasses = (index: FolderIndex): FolderIndex => {
  const byClass: Array<Array<number>> = index.classes.map(() => [])
  for (let i = 0; i < index.files.length; i++) byClass[index.labels[i] as number]!.push(i)
  const order: Array<number> = []
  const longest = Math.max(0, ...byClass.map((m) => m.length))
  for (let k = 0; k < longest; k++) for (const members of byClass) if (k < members.length) order.push(members[k]!)
  return { ...index, files: order.map((i) => index.files[i]!), labels: Int32Array.from(order, (i) => index.labels[i]!) }
}
