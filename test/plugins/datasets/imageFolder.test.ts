import * as fs from "node:fs"
import * as path from "node:path"
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { imageFolderReader } from "../../../plugins/datasets/readers/imageFolder.ts"
import type { DatasetSpec } from "../../../plugins/datasets/spec.ts"
import { failureOf, run, tempDir } from "./helpers.ts"

/** Writes train/<class>/<i>.png|jpg: class "dark" all 40, class "light" all 200 (solid RGB). */
const writeFolder = async (root: string) => {
  for (const [cls, v] of [["dark", 40], ["light", 200]] as const) {
    const dir = path.join(root, "train", cls)
    fs.mkdirSync(dir, { recursive: true })
    for (let i = 0; i < 3; i++) {
      const img = sharp({ create: { width: 10, height: 8, channels: 3, background: { r: v, g: v, b: v } } })
      await (i === 2 ? img.jpeg({ quality: 100 }) : img.png()).toFile(path.join(dir, `${i}.${i === 2 ? "jpg" : "png"}`))
    }
  }
  fs.writeFileSync(path.join(root, "train", "dark", "notes.txt"), "ignored")
}

const specFor = (root: string, channels: number, classes: Array<string> = []): DatasetSpec => ({
  name: "folder",
  reader: "image-folder",
  path: root,
  split: "train",
  classes,
  imageSize: { channels, height: 4, width: 4 },
  normalization: { mean: new Array(channels).fill(0.5), std: new Array(channels).fill(0.25) },
  options: {},
})

describe("image-folder reader", () => {
  it("decodes PNG and JPEG, one class per sorted subfolder, resized and converted", async () => {
    const root = tempDir("folder")
    await writeFolder(root)
    for (const channels of [1, 3]) {
      const set = await run(imageFolderReader.load(specFor(root, channels)))
      expect(set.classes).toEqual(["dark", "light"])
      expect(set.count).toBe(6)
      expect([set.channels, set.height, set.width]).toEqual([channels, 4, 4])
      expect(Array.from(set.labels)).toEqual([0, 0, 0, 1, 1, 1])
      const per = channels * 16
      for (let i = 0; i < 6; i++) {
        const expected = i < 3 ? 40 : 200
        for (const v of set.images.subarray(i * per, (i + 1) * per)) expect(Math.abs(v - expected)).toBeLessThanOrEqual(2)
      }
    }
    expect(imageFolderReader.files(specFor(root, 1))).toEqual([path.join(root, "train")])
  })

  it("an undecodable image: ImageDecodeError naming the file", async () => {
    const root = tempDir("folder-bad")
    await writeFolder(root)
    const bad = path.join(root, "train", "light", "1.png")
    const bytes = fs.readFileSync(bad)
    fs.writeFileSync(bad, bytes.subarray(0, 30))
    const err = await failureOf(imageFolderReader.load(specFor(root, 3)))
    expect(err).toMatchObject({ _tag: "ImageDecodeError", file: bad })
    expect(err?.message).toContain(bad)
  })

  it("declared classes that do not match the subfolders: DatasetSpecError; missing folder: FileReadError", async () => {
    const root = tempDir("folder-classes")
    await writeFolder(root)
    expect(await failureOf(imageFolderReader.load(specFor(root, 1, ["dark", "medium"])))).toMatchObject({ _tag: "DatasetSpecError", field: "classes" })
    const set = await run(imageFolderReader.load(specFor(root, 1, ["light", "dark"])))
    expect(Array.from(set.labels)).toEqual([0, 0, 0, 1, 1, 1]) // declared order wins: light = 0
    expect(set.images[0]).toBeGreaterThan(150)
    expect(await failureOf(imageFolderReader.load({ ...specFor(root, 1), split: "test" }))).toMatchObject({ _tag: "FileReadError" })
  })
})
