/**
 * Fuzzing every reader: seeded truncations, byte flips and header overwrites
 * of small valid files. Each case must either decode (to a self-consistent
 * ImageSet) or fail with one of the readers' typed errors: never a defect,
 * never an allocation sized by an unchecked header (that would surface as a
 * RangeError defect or an out-of-memory crash).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { datasetReadErrorTags } from "../../../plugins/datasets/errors.ts"
import { Rng } from "../../../plugins/datasets/prng.ts"
import type { DatasetReader } from "../../../plugins/datasets/reader.ts"
import { cifarReader } from "../../../plugins/datasets/readers/cifar.ts"
import { idxReader } from "../../../plugins/datasets/readers/idx.ts"
import { imageFolderReader } from "../../../plugins/datasets/readers/imageFolder.ts"
import type { DatasetSpec } from "../../../plugins/datasets/spec.ts"
import { failureOf, run, tempDir, writeCifar, writeIdx } from "./helpers.ts"

type Mutation = "truncate" | "flip" | "header"

const mutate = (bytes: Buffer, rng: Rng, kind: Mutation): Buffer => {
  const b = Buffer.from(bytes)
  if (kind === "truncate") return b.subarray(0, rng.int(b.length))
  if (kind === "flip") {
    for (let n = 1 + rng.int(4); n > 0; n--) b[rng.int(b.length)] = rng.int(256)
    return b
  }
  // header: overwrite an aligned u32 in the first 16 bytes with an extreme or random value
  const at = 4 * rng.int(Math.min(4, Math.floor(b.length / 4)))
  const values = [0, 1, 0xffffffff, 0x7fffffff, 0x10000, rng.nextU32()]
  b.writeUInt32BE(values[rng.int(values.length)]!, at)
  return b
}

const fuzz = async (reader: DatasetReader, spec: DatasetSpec, files: ReadonlyArray<string>, cases: number, seed: number) => {
  const originals = files.map((f) => fs.readFileSync(f))
  const rng = Rng.seeded(seed)
  const tally: Record<string, number> = {}
  for (let k = 0; k < cases; k++) {
    const which = rng.int(files.length)
    const kind = (["truncate", "flip", "header"] as const)[rng.int(3)]!
    files.forEach((f, i) => fs.writeFileSync(f, i === which ? mutate(originals[i]!, rng, kind) : originals[i]!))
    const err = await failureOf(reader.load(spec)) // a defect (anything thrown) fails the test here
    if (err === undefined) {
      const set = await run(reader.load(spec))
      expect(set.images.length).toBe(set.count * set.channels * set.height * set.width)
      expect(set.labels.length).toBe(set.count)
      for (const l of set.labels) expect(l >= 0 && l < set.classes.length).toBe(true)
      tally["ok"] = (tally["ok"] ?? 0) + 1
    } else {
      expect(datasetReadErrorTags).toContain(err._tag)
      expect(err.message).toContain(files[which]!) // names the damaged file
      tally[err._tag] = (tally[err._tag] ?? 0) + 1
    }
  }
  files.forEach((f, i) => fs.writeFileSync(f, originals[i]!))
  return tally
}

describe("reader fuzzing", () => {
  it.each([false, true])("IDX (gzip: %s)", async (gzip) => {
    const dir = tempDir("fuzz-idx")
    const { spec } = writeIdx(dir, { gzip, count: 12, size: 5, classes: 10 })
    const files = idxReader.files(spec)
    const tally = await fuzz(idxReader, spec, files, 300, gzip ? 2 : 1)
    expect(Object.keys(tally).length).toBeGreaterThanOrEqual(3) // the mutations reach several failure modes
  })

  it.each(["cifar10", "cifar100-fine"] as const)("CIFAR (%s)", async (layout) => {
    const dir = tempDir("fuzz-cifar")
    const { spec } = writeCifar(dir, { layout, count: 6, size: 4, files: 2 })
    const tally = await fuzz(cifarReader, spec, cifarReader.files(spec), 300, 3)
    expect(tally["ok"]).toBeGreaterThan(0)
    expect(Object.keys(tally).length).toBeGreaterThanOrEqual(2)
  })

  it("image folder (PNG and JPEG)", async () => {
    const root = tempDir("fuzz-img")
    const files: Array<string> = []
    for (const cls of ["a", "b"]) {
      fs.mkdirSync(path.join(root, "train", cls), { recursive: true })
      const raw = Buffer.from(Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37 + cls.charCodeAt(0)) % 256))
      const img = () => sharp(raw, { raw: { width: 8, height: 8, channels: 3 } })
      const png = path.join(root, "train", cls, "x.png")
      const jpg = path.join(root, "train", cls, "y.jpg")
      await img().png().toFile(png)
      await img().jpeg().toFile(jpg)
      files.push(png, jpg)
    }
    const spec: DatasetSpec = {
      name: "fuzz-folder", reader: "image-folder", path: root, split: "train", classes: [],
      imageSize: { channels: 3, height: 6, width: 6 }, normalization: { mean: [0, 0, 0], std: [1, 1, 1] }, options: {},
    }
    const tally = await fuzz(imageFolderReader, spec, files, 80, 4)
    expect(tally["ImageDecodeError"]).toBeGreaterThan(0)
  })
})
