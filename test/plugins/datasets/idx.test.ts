import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { MAX_FILE_BYTES, maybeGunzip } from "../../../plugins/datasets/internal/files.ts"
import { idxReader } from "../../../plugins/datasets/readers/idx.ts"
import { failureOf, idxLabels, run, tempDir, writeIdx } from "./helpers.ts"

describe("IDX reader", () => {
  it.each([false, true])("decodes pixels and labels exactly (gzip: %s)", async (gzip) => {
    const dir = tempDir("idx")
    const { spec, pixels, labels } = writeIdx(dir, { gzip, count: 20, size: 6 })
    const set = await run(idxReader.load(spec))
    expect(set.count).toBe(20)
    expect([set.channels, set.height, set.width]).toEqual([1, 6, 6])
    expect(Array.from(set.labels)).toEqual(labels)
    expect(Buffer.from(set.images).equals(Buffer.from(pixels))).toBe(true)
    expect(idxReader.files(spec)).toEqual([path.join(dir, spec.options["images"] as string), path.join(dir, spec.options["labels"] as string)])
  })

  it("transposes images when asked (EMNIST layout)", async () => {
    const dir = tempDir("idx-t")
    const { spec, pixels } = writeIdx(dir, { count: 2, size: 3 })
    const set = await run(idxReader.load({ ...spec, options: { ...spec.options, transpose: true } }))
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) expect(set.images[9 + x * 3 + y]).toBe(pixels[9 + y * 3 + x])
  })

  const broken = async (mutate: (dir: string, spec: ReturnType<typeof writeIdx>["spec"]) => void) => {
    const dir = tempDir("idx-bad")
    const { spec } = writeIdx(dir, { count: 20, size: 6 })
    mutate(dir, spec)
    return { err: await failureOf(idxReader.load(spec)), dir }
  }
  const imgFile = (dir: string) => path.join(dir, "train-images-idx3-ubyte")
  const labFile = (dir: string) => path.join(dir, "train-labels-idx1-ubyte")

  it("wrong magic: BadMagicError at byte 0 naming the file", async () => {
    const { err, dir } = await broken((d) => {
      const b = fs.readFileSync(imgFile(d))
      b[3] = 1
      fs.writeFileSync(imgFile(d), b)
    })
    expect(err).toMatchObject({ _tag: "BadMagicError", file: imgFile(dir), offset: 0, found: "00 00 08 01" })
    expect(err?.message).toContain(imgFile(dir))
  })

  it("short read: TruncatedFileError with the offset where data ends", async () => {
    const { err, dir } = await broken((d) => {
      const b = fs.readFileSync(imgFile(d))
      fs.writeFileSync(imgFile(d), b.subarray(0, b.length - 5))
    })
    expect(err).toMatchObject({ _tag: "TruncatedFileError", file: imgFile(dir), offset: 16 + 20 * 36 - 5, needed: 16 + 20 * 36 })
  })

  it("short header: TruncatedFileError", async () => {
    const { err } = await broken((d) => fs.writeFileSync(labFile(d), Buffer.from([0, 0, 8, 1, 0, 0])))
    expect(err).toMatchObject({ _tag: "TruncatedFileError", offset: 6, needed: 8 })
  })

  it("label out of range: LabelOutOfRangeError at the label's byte", async () => {
    const { err, dir } = await broken((d) => {
      const b = fs.readFileSync(labFile(d))
      b[8 + 11] = 9
      fs.writeFileSync(labFile(d), b)
    })
    expect(err).toMatchObject({ _tag: "LabelOutOfRangeError", file: labFile(dir), offset: 19, label: 9, numClasses: 4 })
  })

  it("header claiming a huge count: ImplausibleHeaderError, nothing allocated from it", async () => {
    const { err, dir } = await broken((d) => {
      const b = fs.readFileSync(imgFile(d))
      b.writeUInt32BE(0xffffffff, 4)
      fs.writeFileSync(imgFile(d), b)
    })
    expect(err).toMatchObject({ _tag: "ImplausibleHeaderError", file: imgFile(dir), offset: 4, field: "count", value: 0xffffffff })
  })

  it("a plausible count larger than the data is a truncation, extra bytes are trailing", async () => {
    const big = await broken((d) => {
      const b = fs.readFileSync(imgFile(d))
      b.writeUInt32BE(21, 4)
      fs.writeFileSync(imgFile(d), b)
    })
    expect(big.err).toMatchObject({ _tag: "TruncatedFileError", needed: 16 + 21 * 36, available: 16 + 20 * 36 })
    const trailing = await broken((d) => fs.appendFileSync(labFile(d), Buffer.from([1, 2])))
    expect(trailing.err).toMatchObject({ _tag: "TrailingBytesError", offset: 28, extra: 2 })
  })

  it("images and labels disagreeing on count: CountMismatchError", async () => {
    const { err } = await broken((d) => fs.writeFileSync(labFile(d), idxLabels(new Array(19).fill(0))))
    expect(err).toMatchObject({ _tag: "CountMismatchError", count: 19, otherCount: 20 })
  })

  it("image size different from the spec: ImplausibleHeaderError", async () => {
    const dir = tempDir("idx-size")
    const { spec } = writeIdx(dir, { size: 6 })
    const err = await failureOf(idxReader.load({ ...spec, imageSize: { channels: 1, height: 28, width: 28 } }))
    expect(err).toMatchObject({ _tag: "ImplausibleHeaderError", offset: 8 })
  })

  it("corrupt and truncated gzip: CorruptGzipError with a compressed offset", async () => {
    const dir = tempDir("idx-gz")
    const { spec } = writeIdx(dir, { gzip: true, count: 200, size: 8 })
    const file = path.join(dir, "train-images-idx3-ubyte.gz")
    const good = fs.readFileSync(file)
    fs.writeFileSync(file, good.subarray(0, good.length - 20))
    const cut = await failureOf(idxReader.load(spec))
    expect(cut).toMatchObject({ _tag: "CorruptGzipError", file, offset: good.length - 20 })
    const flipped = Buffer.from(good)
    flipped[40] = (flipped[40] as number) ^ 0xff
    fs.writeFileSync(file, flipped)
    const bad = await failureOf(idxReader.load(spec))
    expect(bad?._tag).toBe("CorruptGzipError")
    expect((bad as { offset: number }).offset).toBeGreaterThanOrEqual(10)
    expect((bad as { offset: number }).offset).toBeLessThanOrEqual(good.length)
  })

  it("a gzip bomb is refused by the inflate cap", async () => {
    // 8 MiB of zeros compress to ~8 KiB; with a 1 MiB cap inflation stops and fails typed.
    const bomb = new Uint8Array(zlib.gzipSync(Buffer.alloc(8 << 20)))
    const err = await failureOf(maybeGunzip("bomb.gz", bomb, 1 << 20))
    expect(err).toMatchObject({ _tag: "CorruptGzipError", file: "bomb.gz", reason: expect.stringContaining("more than 1048576") })
    expect(MAX_FILE_BYTES).toBe(1 << 30) // the readers' cap
  })

  it("missing file and bad options: FileReadError / DatasetSpecError", async () => {
    const dir = tempDir("idx-missing")
    const { spec } = writeIdx(dir)
    fs.rmSync(path.join(dir, "train-labels-idx1-ubyte"))
    expect(await failureOf(idxReader.load(spec))).toMatchObject({ _tag: "FileReadError", reason: "no such file" })
    expect(await failureOf(idxReader.load({ ...spec, options: { images: 3 } }))).toMatchObject({ _tag: "DatasetSpecError", field: "options" })
  })
})
