import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { builtinDatasets, idxEntry, makeDefaultRegistry } from "../../../plugins/datasets/builtins.ts"
import { datasetIdentity } from "../../../plugins/datasets/identity.ts"
import { DATA_DIR_ENV, DatasetRegistry, dataRoot } from "../../../plugins/datasets/registry.ts"
import { decodeSpec } from "../../../plugins/datasets/spec.ts"
import { syntheticReader } from "../../../plugins/datasets/readers/synthetic.ts"
import { failureOf, run, tempDir, writeIdx } from "./helpers.ts"

/** A data root with a tiny `fashion-mnist/` folder in the upstream layout (raw, not gzip). */
const tinyRoot = () => {
  const root = tempDir("root")
  const dir = path.join(root, "fashion-mnist")
  fs.mkdirSync(dir)
  writeIdx(dir, { count: 30, size: 28, classes: 10 })
  return { root, dir }
}

describe("dataset registry", () => {
  it("holds the built-ins and resolves names to specs", async () => {
    const r = makeDefaultRegistry()
    expect(r.names()).toEqual(builtinDatasets.map((e) => e.name).sort())
    expect(r.readers.names()).toEqual(["category-folders", "cifar", "digit-sheet", "idx", "image-folder", "imagenet-folder", "synthetic", "texture-patches"])
    const spec = await run(r.resolve("synthetic-shapes", { split: "test" }))
    expect(spec).toMatchObject({ reader: "synthetic", split: "test", imageSize: { channels: 1, height: 28, width: 28 } })
    expect(await run(decodeSpec(JSON.parse(JSON.stringify(spec))))).toEqual(spec)
  })

  it("a duplicate name fails and leaves the first registration in place", async () => {
    const r = makeDefaultRegistry()
    const err = await failureOf(r.register("fashion-mnist", { ...builtinDatasets[0]!, summary: "impostor" }))
    expect(err).toMatchObject({ _tag: "DuplicateNameError", what: "dataset", name: "fashion-mnist" })
    // the message says where the name was taken (the built-ins' registration in builtins.ts)
    expect(err?.message).toMatch(/dataset "fashion-mnist" is already registered at .*plugins\/datasets\/builtins\.ts:\d+/)
    expect((await run(r.get("fashion-mnist"))).summary).not.toBe("impostor")
    expect(await failureOf(r.readers.register("synthetic", syntheticReader))).toMatchObject({ _tag: "DuplicateNameError", what: "dataset reader" })
  })

  it("an unknown name fails naming the known ones, with did-you-mean", async () => {
    const r = makeDefaultRegistry()
    const err = await failureOf(r.resolve("fashon-mnist"))
    expect(err).toMatchObject({ _tag: "UnknownNameError", what: "dataset", name: "fashon-mnist", suggestions: ["fashion-mnist"] })
    expect(err?.message).toContain('Did you mean "fashion-mnist"?')
    expect(err).toMatchObject({ known: expect.arrayContaining(["cifar10", "fashion-mnist"]) })
    expect(await failureOf(r.resolve("zzzzzzzz"))).toMatchObject({ suggestions: [] })
    expect(await failureOf(r.readers.get("imagefolder"))).toMatchObject({ _tag: "UnknownNameError", what: "dataset reader", suggestions: ["image-folder"] })
  })

  it("a plugin adds a dataset without touching library code", async () => {
    const r = new DatasetRegistry()
    await run(r.readers.register(syntheticReader.name, syntheticReader))
    await run(
      r.register("my-blobs", {
        name: "my-blobs",
        summary: "plugin dataset",
        resolve: (ctx) =>
          Effect.succeed({
            name: "my-blobs", reader: "synthetic", path: "", split: ctx.split, classes: [],
            imageSize: { channels: 1, height: 8, width: 8 }, normalization: { mean: [0.5], std: [0.5] },
            options: { variant: "counting", count: 10, seed: 3 },
          }),
      }),
    )
    const set = await run(r.resolve("my-blobs").pipe(Effect.flatMap((s) => r.load(s))))
    expect(set.count).toBe(10)
    expect(set.classes).toHaveLength(5)
  })

  it("data root: option, then SSL_KD_DATA_DIR, then /usr/share/datasets", () => {
    expect(dataRoot({ dataDir: "/a", env: { [DATA_DIR_ENV]: "/b" } })).toEqual({ dataRoot: "/a", dataRootSource: "option" })
    expect(dataRoot({ env: { [DATA_DIR_ENV]: "/b" } })).toEqual({ dataRoot: "/b", dataRootSource: "env" })
    expect(dataRoot({ env: {} })).toEqual({ dataRoot: "/usr/share/datasets", dataRootSource: "default" })
  })

  it("resolves files under a configured root (raw or gzip) and reads them", async () => {
    const { root, dir } = tinyRoot()
    const r = makeDefaultRegistry()
    const spec = await run(r.resolve("fashion-mnist", { env: { [DATA_DIR_ENV]: root } }))
    expect(spec.path).toBe(dir)
    expect(spec.options).toMatchObject({ images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" })
    expect(await run(r.files(spec))).toEqual([path.join(dir, "train-images-idx3-ubyte"), path.join(dir, "train-labels-idx1-ubyte")])
    expect((await run(r.load(spec))).count).toBe(30)
  })

  it("missing data: DatasetMissingError telling how to get it", async () => {
    const empty = tempDir("empty")
    const err = await failureOf(makeDefaultRegistry().resolve("fashion-mnist", { dataDir: empty, split: "test" }))
    expect(err).toMatchObject({ _tag: "DatasetMissingError", dataset: "fashion-mnist", path: path.join(empty, "fashion-mnist", "t10k-images-idx3-ubyte.gz") })
    expect(err?.message).toContain("apt-get install dataset-fashion-mnist")
    expect(err?.message).toContain(DATA_DIR_ENV)
    expect(err?.message).toContain("--data-dir")
  })

  it("idxEntry-built datasets pick their split files", async () => {
    const { root } = tinyRoot()
    const entry = idxEntry({ name: "x", summary: "", folder: "fashion-mnist", how: "", classes: [], normalization: { mean: [0], std: [1] } })
    expect(await failureOf(entry.resolve({ split: "test", dataRoot: root, dataRootSource: "option" }))).toMatchObject({ _tag: "DatasetMissingError" })
  })
})

describe("dataset identity", () => {
  it("is stable, ignores the location, and changes when a file's content changes", async () => {
    const r = makeDefaultRegistry()
    const a = tinyRoot()
    const b = tinyRoot()
    const specA = await run(r.resolve("fashion-mnist", { dataDir: a.root }))
    const specB = await run(r.resolve("fashion-mnist", { dataDir: b.root }))
    const idA = await run(datasetIdentity(r, specA))
    expect(idA).toMatch(/^[0-9a-f]{64}$/)
    expect(await run(datasetIdentity(r, specA))).toBe(idA)
    expect(await run(datasetIdentity(r, specB))).toBe(idA) // same bytes, other folder
    const file = path.join(b.dir, "train-labels-idx1-ubyte")
    const bytes = fs.readFileSync(file)
    bytes[10] = ((bytes[10] as number) + 1) % 10
    fs.writeFileSync(file, bytes)
    expect(await run(datasetIdentity(r, specB))).not.toBe(idA)
    expect(await run(datasetIdentity(r, { ...specA, split: "test" }))).not.toBe(idA)
  })

  it("covers generated datasets through their parameters", async () => {
    const r = makeDefaultRegistry()
    const s = await run(r.resolve("synthetic-shapes"))
    const id = await run(datasetIdentity(r, s))
    expect(await run(datasetIdentity(r, { ...s, options: { ...s.options, seed: 1 } }))).not.toBe(id)
  })
})
