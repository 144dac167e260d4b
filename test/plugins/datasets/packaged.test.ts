/**
 * The packaged real datasets (opencv-digits, openclipart, skimage-textures):
 * the three pooled readers on small generated files (split balance,
 * disjointness, seeding, the conversion rule against hand-computed pixels,
 * typed errors), then the registry entries on the installed Debian files
 * (skipped, with a printed reason, when a package is absent).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { makeDefaultRegistry } from "../../../plugins/datasets/builtins.ts"
import { datasetIdentity } from "../../../plugins/datasets/identity.ts"
import { countPerClass, imageBytes, type ImageSet } from "../../../plugins/datasets/ImageSet.ts"
import { convertImage, luma601 } from "../../../plugins/datasets/internal/convert.ts"
import { packagedConfigs } from "../../../plugins/datasets/packaged.ts"
import { categoryFoldersReader } from "../../../plugins/datasets/readers/categoryFolders.ts"
import { digitSheetReader } from "../../../plugins/datasets/readers/digitSheet.ts"
import { texturePatchesReader } from "../../../plugins/datasets/readers/texturePatches.ts"
import type { DatasetSpec } from "../../../plugins/datasets/spec.ts"
import { failureOf, run, tempDir } from "./helpers.ts"

const size = { channels: 1, height: 4, width: 4 }
const spec = (reader: string, root: string, classes: Array<string>, split: "train" | "test", options: DatasetSpec["options"]): DatasetSpec => ({
  name: "t",
  reader,
  path: root,
  split,
  classes,
  imageSize: size,
  normalization: { mean: [0.5], std: [0.25] },
  options,
})

/** Image bytes as strings, to compare sets of images. */
const imagesOf = (s: ImageSet): Array<string> => {
  const n = imageBytes(s)
  return Array.from({ length: s.count }, (_, i) => Buffer.from(s.images.subarray(i * n, (i + 1) * n)).toString("hex"))
}

/** A 3-class sheet of 2x4 cells of 4 px, 1 row per class; cell (r, c) is solid 10 + 20 * (4r + c). */
const writeSheet = async (dir: string, height = 12) => {
  const px = new Uint8Array(16 * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < 16; x++) px[y * 16 + x] = 10 + 20 * (Math.floor(y / 4) * 4 + Math.floor(x / 4))
  await sharp(px, { raw: { width: 16, height, channels: 1 } }).png().toFile(path.join(dir, "sheet.png"))
}

describe("the conversion rule (convertImage)", () => {
  it("solid RGB becomes its BT.601 luma, transparency becomes white, non-square inputs are padded with white", async () => {
    const solid = await sharp({ create: { width: 9, height: 9, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer()
    const grey = await run(convertImage("solid", { kind: "encoded", bytes: solid }, size))
    expect(luma601(200, 40, 90)).toBe(94) // 59.8 + 23.48 + 10.26 = 93.54
    expect([...new Set(grey)]).toEqual([94])
    const clear = await sharp({ create: { width: 5, height: 5, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer()
    expect([...new Set(await run(convertImage("clear", { kind: "encoded", bytes: clear }, size)))]).toEqual([255])
    // 8 wide x 4 high black: scaled to 4 x 2, centred: rows 0 and 3 white, rows 1-2 black.
    const wide = await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer()
    const out = await run(convertImage("wide", { kind: "encoded", bytes: wide }, size))
    expect(Array.from(out)).toEqual([...new Array(4).fill(255), ...new Array(8).fill(0), ...new Array(4).fill(255)])
    const rgb = await run(convertImage("solid", { kind: "encoded", bytes: solid }, { channels: 3, height: 2, width: 2 }))
    expect(Array.from(rgb)).toEqual([200, 200, 200, 200, 40, 40, 40, 40, 90, 90, 90, 90])
  })

  it("a file that is not an image is an ImageDecodeError naming it", async () => {
    const e = await failureOf(convertImage("bad.png", { kind: "encoded", bytes: new Uint8Array([1, 2, 3]) }, size))
    expect(e?._tag).toBe("ImageDecodeError")
    expect(e?.file).toBe("bad.png")
  })
})

describe("digit-sheet reader", () => {
  const options = { file: "sheet.png", cell: 4, rowsPerClass: 1, seed: 3, trainPerClass: 3, testPerClass: 1 }
  it("cuts cells, labels rows, and splits each class 3 / 1 disjointly, the same for the same seed", async () => {
    const dir = tempDir("sheet")
    await writeSheet(dir)
    const train = await run(digitSheetReader.load(spec("digit-sheet", dir, ["a", "b", "c"], "train", options)))
    const test = await run(digitSheetReader.load(spec("digit-sheet", dir, ["a", "b", "c"], "test", options)))
    expect(countPerClass(train)).toEqual([3, 3, 3])
    expect(countPerClass(test)).toEqual([1, 1, 1])
    // Every image is one solid cell; together train + test are exactly the 12 cells, each with its row's label.
    const cells = [...imagesOf(train), ...imagesOf(test)].map((h) => parseInt(h.slice(0, 2), 16))
    const labels = [...train.labels, ...test.labels]
    expect([...cells].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => 10 + 20 * i))
    cells.forEach((v, i) => expect(Math.floor((v - 10) / 20 / 4)).toBe(labels[i]))
    const again = await run(digitSheetReader.load(spec("digit-sheet", dir, ["a", "b", "c"], "train", options)))
    expect(imagesOf(again)).toEqual(imagesOf(train))
    const other = await run(digitSheetReader.load(spec("digit-sheet", dir, ["a", "b", "c"], "train", { ...options, seed: 4 })))
    expect(countPerClass(other)).toEqual([3, 3, 3])
  })

  it("a sheet of the wrong height and a split larger than a class are DatasetSpecErrors", async () => {
    const dir = tempDir("sheet-bad")
    await writeSheet(dir, 8)
    const e = await failureOf(digitSheetReader.load(spec("digit-sheet", dir, ["a", "b", "c"], "train", options)))
    expect(e?._tag).toBe("DatasetSpecError")
    expect(e?.message).toContain("16x8")
    const ok = tempDir("sheet-big")
    await writeSheet(ok)
    const big = await failureOf(digitSheetReader.load(spec("digit-sheet", ok, ["a", "b", "c"], "train", { ...options, trainPerClass: 4 })))
    expect(big?._tag).toBe("DatasetSpecError")
    expect(big?.message).toContain('class "a"')
  })
})

describe("texture-patches reader", () => {
  it("cuts non-overlapping windows of each photograph, one class per photograph", async () => {
    const dir = tempDir("tex")
    for (const [i, v] of [30, 220].entries()) {
      // 9 x 8: two whole 4-px windows across, two down; the last column is never used.
      const px = Uint8Array.from({ length: 72 }, (_, k) => ((k % 9) === 8 ? 0 : v + (Math.floor((k % 9) / 4) + 2 * Math.floor(k / 36))))
      await sharp(px, { raw: { width: 9, height: 8, channels: 1 } }).png().toFile(path.join(dir, `p${i}.png`))
    }
    const o = { files: ["p0.png", "p1.png"], patch: 4, seed: 0, trainPerClass: 3, testPerClass: 1 }
    const train = await run(texturePatchesReader.load(spec("texture-patches", dir, ["dark", "light"], "train", o)))
    const test = await run(texturePatchesReader.load(spec("texture-patches", dir, ["dark", "light"], "test", o)))
    expect(countPerClass(train)).toEqual([3, 3])
    const firsts = [...imagesOf(train), ...imagesOf(test)].map((h) => parseInt(h.slice(0, 2), 16)).sort((a, b) => a - b)
    expect(firsts).toEqual([30, 31, 32, 33, 220, 221, 222, 223]) // each window once, none crossing the unused column
    const e = await failureOf(texturePatchesReader.load(spec("texture-patches", dir, ["dark", "light", "x"], "train", o)))
    expect(e?._tag).toBe("DatasetSpecError")
  })
})

describe("category-folders reader", () => {
  it("reads regular images recursively, skips links, splits each class", async () => {
    const dir = tempDir("cat")
    for (const [c, v] of [["cats", 50], ["dogs", 150]] as const) {
      fs.mkdirSync(path.join(dir, c, "sub"), { recursive: true })
      for (let i = 0; i < 3; i++) {
        const img = sharp({ create: { width: 6, height: 6, channels: 4, background: { r: v + i, g: v + i, b: v + i, alpha: 1 } } })
        await img.png().toFile(path.join(dir, c, i === 2 ? "sub" : "", `${i}.png`))
      }
    }
    fs.symlinkSync(path.join(dir, "dogs", "0.png"), path.join(dir, "cats", "linked.png"))
    fs.writeFileSync(path.join(dir, "cats", "notes.txt"), "ignored")
    const o = { seed: 1, trainPerClass: 2, testPerClass: 1 }
    const train = await run(categoryFoldersReader.load(spec("category-folders", dir, ["cats", "dogs"], "train", o)))
    const test = await run(categoryFoldersReader.load(spec("category-folders", dir, ["cats", "dogs"], "test", o)))
    const values = [...imagesOf(train), ...imagesOf(test)].map((h) => parseInt(h.slice(0, 2), 16)).sort((a, b) => a - b)
    expect(values).toEqual([50, 51, 52, 150, 151, 152])
    const tooMany = await failureOf(categoryFoldersReader.load(spec("category-folders", dir, ["cats", "dogs"], "train", { ...o, trainPerClass: 3 })))
    expect(tooMany?.message).toContain('at most 3 (the images of class "cats")') // the link does not count
    fs.writeFileSync(path.join(dir, "dogs", "sub", "2.png"), "not a png")
    const broken = await failureOf(categoryFoldersReader.load(spec("category-folders", dir, ["cats", "dogs"], "train", { ...o, trainPerClass: 3, testPerClass: 0 })))
    expect(broken?._tag).toBe("ImageDecodeError")
  })
})

const registry = makeDefaultRegistry()
for (const c of packagedConfigs) {
  const present = fs.existsSync(path.join(c.systemDir, c.marker))
  if (!present) console.warn(`SKIP packaged.test.ts ${c.name}: ${c.systemDir} is absent (apt-get install ${c.packages.join(" ")} to run it)`)
  describe.skipIf(!present)(`${c.name} from Debian ${c.packages.join(", ")}`, () => {
    it("resolves and loads both splits: 28x28 grey, balanced, disjoint, normalization close to the train split's", async () => {
      const dataDir = tempDir("empty-root") // nothing there: the entry falls back to the package's folder
      const sets = []
      for (const split of ["train", "test"] as const) {
        const s = await run(registry.resolve(c.name, { split, dataDir }))
        expect(s.path).toBe(c.systemDir)
        expect(s.preprocessing).toContain("BT.601")
        const set = await run(registry.load(s))
        expect([set.channels, set.height, set.width]).toEqual([1, 28, 28])
        const per = split === "train" ? c.options["trainPerClass"] : c.options["testPerClass"]
        expect(countPerClass(set)).toEqual(new Array(c.classes.length).fill(per))
        sets.push(set)
      }
      const [train, test] = sets as [ImageSet, ImageSet]
      const seen = new Set(imagesOf(train))
      // Disjoint pools; distinct files may still convert to the same 28x28 picture (openclipart: 2 of 275, near-blank or variant drawings).
      expect(imagesOf(test).filter((h) => seen.has(h)).length).toBeLessThanOrEqual(Math.ceil(0.01 * test.count))
      let s = 0
      for (const v of train.images) s += v
      expect(Math.abs(s / train.images.length / 255 - (c.normalization.mean[0] as number))).toBeLessThan(0.001)
      const trainSpec = await run(registry.resolve(c.name, { split: "train", dataDir }))
      const reseeded = { ...trainSpec, options: { ...trainSpec.options, seed: 1 } }
      expect(await run(datasetIdentity(registry, reseeded))).not.toBe(await run(datasetIdentity(registry, trainSpec)))
    }, 120_000)
  })
}

describe("plugins/system-packages.json", () => {
  it("lists the Debian packages of every packaged dataset, as the entries name them", async () => {
    const file = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "../../../plugins/system-packages.json"), "utf8"))
    for (const c of packagedConfigs) expect(file.datasets[c.name]).toEqual(c.packages)
  })
})
