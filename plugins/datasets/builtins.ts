/**
 * Built-in datasets: the MNIST family (IDX), CIFAR-10/100 (binary batches)
 * and the synthetic variants, each under `<data root>/<folder>` with the
 * upstream file names. Fashion-MNIST is the default real dataset
 * (`apt-get install dataset-fashion-mnist` puts it in
 * `/usr/share/datasets/fashion-mnist`).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Context, Effect } from "effect"
import { DatasetMissingError } from "./errors.ts"
import { cifarReader } from "./readers/cifar.ts"
import { idxReader } from "./readers/idx.ts"
import { imageFolderReader } from "./readers/imageFolder.ts"
import { syntheticReader, syntheticVariants, type SyntheticVariant } from "./readers/synthetic.ts"
import { packagedDatasets, packagedReaders } from "./packaged.ts"
import { imagenetEntry, imagenetFolderReader } from "./stream/imagenetEntry.ts"
import { DATA_DIR_ENV, type DatasetEntry, DatasetRegistry, type ResolveContext } from "./registry.ts"
import type { DatasetSpec, Normalization, Split } from "./spec.ts"

const digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
/** Fashion-MNIST class names (Xiao et al., 2017), in label order. */
export const fashionMnistClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
const kmnistClasses = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
const emnistBalanced = [...digits, ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ".split(""), ..."abdefghnqrt".split("")]
const cifar10Classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
// prettier-ignore
const cifar100Classes = ["apple","aquarium_fish","baby","bear","beaver","bed","bee","beetle","bicycle","bottle","bowl","boy","bridge","bus","butterfly","camel","can","castle","caterpillar","cattle","chair","chimpanzee","clock","cloud","cockroach","couch","crab","crocodile","cup","dinosaur","dolphin","elephant","flatfish","forest","fox","girl","hamster","house","kangaroo","keyboard","lamp","lawn_mower","leopard","lion","lizard","lobster","man","maple_tree","motorcycle","mountain","mouse","mushroom","oak_tree","orange","orchid","otter","palm_tree","pear","pickup_truck","pine_tree","plain","plate","poppy","porcupine","possum","rabbit","raccoon","ray","road","rocket","rose","sea","seal","shark","shrew","skunk","skyscraper","snail","snake","spider","squirrel","streetcar","sunflower","sweet_pepper","table","tank","telephone","television","tiger","tractor","train","tulip","turtle","wardrobe","whale","willow_tree","wolf","woman","worm"]

const hintFor = (folder: string, how: string) =>
  `${how} Or put the files in <dir>/${folder}/ and set ${DATA_DIR_ENV}=<dir> or pass --data-dir <dir>.`

/** The first of `candidates` (file names under `dir`) that exists, else a missing-data error for the first. */
const probe = (dataset: string, dir: string, candidates: ReadonlyArray<string>, hint: string) =>
  Effect.suspend(() => {
    const hit = candidates.find((c) => fs.existsSync(path.join(dir, c)))
    return hit !== undefined
      ? Effect.succeed(hit)
      : Effect.fail(new DatasetMissingError({ dataset, path: path.join(dir, candidates[0] as string), hint }))
  })

interface FileEntryConfig {
  readonly name: string
  readonly summary: string
  readonly folder: string
  readonly how: string
  readonly classes: ReadonlyArray<string>
  readonly normalization: Normalization
}

/** An IDX dataset entry: `<root>/<folder>/<prefix>{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`. */
export const idxEntry = (
  c: FileEntryConfig & { readonly prefix?: string; readonly testName?: string; readonly transpose?: boolean },
): DatasetEntry => ({
  name: c.name,
  summary: c.summary,
  resolve: (ctx: ResolveContext) =>
    Effect.gen(function* () {
      const dir = path.join(ctx.dataRoot, c.folder)
      const stem = `${c.prefix ?? ""}${ctx.split === "train" ? "train" : (c.testName ?? "t10k")}`
      const hint = hintFor(c.folder, c.how)
      const pick = (kind: string) => probe(c.name, dir, [`${stem}-${kind}-ubyte.gz`, `${stem}-${kind}-ubyte`], hint)
      const images = yield* pick("images-idx3")
      const labels = yield* pick("labels-idx1")
      const spec: DatasetSpec = {
        name: c.name,
        reader: idxReader.name,
        path: dir,
        split: ctx.split,
        classes: c.classes,
        imageSize: { channels: 1, height: 28, width: 28 },
        normalization: c.normalization,
        options: { images, labels, transpose: c.transpose ?? false },
      }
      return spec
    }),
})

/** A CIFAR binary entry. */
export const cifarEntry = (
  c: FileEntryConfig & { readonly files: Record<Split, ReadonlyArray<string>>; readonly layout: "cifar10" | "cifar100-fine" },
): DatasetEntry => ({
  name: c.name,
  summary: c.summary,
  resolve: (ctx) =>
    Effect.gen(function* () {
      const dir = path.join(ctx.dataRoot, c.folder)
      const files = c.files[ctx.split]
      for (const f of files) yield* probe(c.name, dir, [f], hintFor(c.folder, c.how))
      const spec: DatasetSpec = {
        name: c.name,
        reader: cifarReader.name,
        path: dir,
        split: ctx.split,
        classes: c.classes,
        imageSize: { channels: 3, height: 32, width: 32 },
        normalization: c.normalization,
        options: { files: [...files], layout: c.layout },
      }
      return spec
    }),
})

/** A synthetic entry (no files); `count` examples per split, default 2000 train / 500 test. */
export const syntheticEntry = (variant: SyntheticVariant, o: { readonly size?: number; readonly seed?: number } = {}): DatasetEntry => {
  const channels = variant === "colors" ? 3 : 1
  const size = o.size ?? (variant === "colors" ? 32 : 28)
  return {
    name: `synthetic-${variant}`,
    summary: `procedural ${variant} (${syntheticVariants[variant].length} classes, ${channels}x${size}x${size}), seeded`,
    resolve: (ctx) =>
      Effect.succeed({
        name: `synthetic-${variant}`,
        reader: syntheticReader.name,
        path: "",
        split: ctx.split,
        classes: [...syntheticVariants[variant]],
        imageSize: { channels, height: size, width: size },
        normalization: { mean: new Array<number>(channels).fill(0.5), std: new Array<number>(channels).fill(0.25) },
        options: { variant, count: ctx.split === "train" ? 2000 : 500, seed: o.seed ?? 0 },
      }),
  }
}

const grey = (mean: number, std: number): Normalization => ({ mean: [mean], std: [std] })

/** Every built-in dataset entry. */
export const builtinDatasets: ReadonlyArray<DatasetEntry> = [
  idxEntry({
    name: "fashion-mnist",
    summary: "Fashion-MNIST (Xiao et al., 2017): 60k/10k grey 28x28, 10 clothing classes",
    folder: "fashion-mnist",
    how: "Install it with `apt-get install dataset-fashion-mnist` (files go to /usr/share/datasets/fashion-mnist).",
    classes: fashionMnistClasses,
    normalization: grey(0.286, 0.353),
  }),
  idxEntry({
    name: "mnist",
    summary: "MNIST digits: 60k/10k grey 28x28, 10 classes",
    folder: "mnist",
    how: "Download the four IDX files from https://yann.lecun.com/exdb/mnist/ (or a mirror).",
    classes: digits,
    normalization: grey(0.1307, 0.3081),
  }),
  idxEntry({
    name: "kmnist",
    summary: "Kuzushiji-MNIST: 60k/10k grey 28x28, 10 hiragana classes",
    folder: "kmnist",
    how: "Download the IDX files from https://github.com/rois-codh/kmnist.",
    classes: kmnistClasses,
    normalization: grey(0.1918, 0.3483),
  }),
  idxEntry({
    name: "emnist-balanced",
    summary: "EMNIST Balanced: 112.8k/18.8k grey 28x28, 47 classes (digits and letters)",
    folder: "emnist",
    prefix: "emnist-balanced-",
    testName: "test",
    transpose: true,
    how: "Download gzip.zip from https://www.nist.gov/itl/products-and-services/emnist-dataset and unpack it.",
    classes: emnistBalanced,
    normalization: grey(0.1751, 0.3332),
  }),
  idxEntry({
    name: "emnist-digits",
    summary: "EMNIST Digits: 240k/40k grey 28x28, 10 classes",
    folder: "emnist",
    prefix: "emnist-digits-",
    testName: "test",
    transpose: true,
    how: "Download gzip.zip from https://www.nist.gov/itl/products-and-services/emnist-dataset and unpack it.",
    classes: digits,
    normalization: grey(0.1733, 0.3317),
  }),
  cifarEntry({
    name: "cifar10",
    summary: "CIFAR-10: 50k/10k RGB 32x32, 10 classes",
    folder: "cifar-10-batches-bin",
    how: "Download and unpack https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz.",
    classes: cifar10Classes,
    normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
    files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ["test_batch.bin"] },
    layout: "cifar10",
  }),
  cifarEntry({
    name: "cifar100",
    summary: "CIFAR-100 (fine labels): 50k/10k RGB 32x32, 100 classes",
    folder: "cifar-100-binary",
    how: "Download and unpack https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz.",
    classes: cifar100Classes,
    normalization: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
    files: { train: ["train.bin"], test: ["test.bin"] },
    layout: "cifar100-fine",
  }),
  syntheticEntry("shapes"),
  syntheticEntry("textures"),
  syntheticEntry("counting"),
  syntheticEntry("colors"),
  ...packagedDatasets,
  imagenetEntry,
]

/** Every built-in reader. */
export const builtinReaders = [idxReader, cifarReader, imageFolderReader, syntheticReader, ...packagedReaders, imagenetFolderReader] as const

/** A fresh registry holding the built-in readers and datasets (for a test or a tool that adds its own in isolation). */
export const makeDefaultRegistry = (): DatasetRegistry => {
  const registry = new DatasetRegistry()
  Effect.runSync(
    Effect.gen(function* () {
      for (const r of builtinReaders) yield* registry.readers.register(r.name, r)
      for (const e of builtinDatasets) yield* registry.register(e.name, e)
    }),
  )
  return registry
}

/** The registry every stage and `ssl-kd data` resolve dataset names against; a plugin registers more on it. */
export const datasets: DatasetRegistry = makeDefaultRegistry()

/** The dataset registry as a service (`yield* Datasets`); its default is {@link datasets}. */
export const Datasets: Context.Reference<DatasetRegistry> = Context.Reference<DatasetRegistry>("ssl-kd/Datasets", { defaultValue: () => datasets })
