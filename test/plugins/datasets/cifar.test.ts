import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cifarReader } from "../../../plugins/datasets/readers/cifar.ts"
import { failureOf, run, tempDir, writeCifar } from "./helpers.ts"

describe("CIFAR binary reader", () => {
  it.each(["cifar10", "cifar100-fine", "cifar100-coarse"] as const)("decodes %s records across files in order", async (layout) => {
    const dir = tempDir("cifar")
    const { spec, pixels, labels } = writeCifar(dir, { layout, count: 10, files: 2 })
    const set = await run(cifarReader.load(spec))
    expect(set.count).toBe(20)
    expect([set.channels, set.height, set.width]).toEqual([3, 4, 4])
    expect(Array.from(set.labels)).toEqual(labels)
    expect(Buffer.from(set.images).equals(Buffer.from(pixels))).toBe(true)
    expect(cifarReader.files(spec)).toEqual([path.join(dir, "batch_0.bin"), path.join(dir, "batch_1.bin")])
  })

  it("a partial record: TruncatedFileError at the record's start", async () => {
    const dir = tempDir("cifar-trunc")
    const { spec } = writeCifar(dir, { count: 10 })
    const file = path.join(dir, "batch_1.bin")
    const b = fs.readFileSync(file)
    fs.writeFileSync(file, b.subarray(0, b.length - 3))
    const rec = 1 + 48
    expect(await failureOf(cifarReader.load(spec))).toMatchObject({ _tag: "TruncatedFileError", file, offset: 9 * rec, needed: 10 * rec, available: 10 * rec - 3 })
  })

  it("an empty file: TruncatedFileError", async () => {
    const dir = tempDir("cifar-empty")
    const { spec } = writeCifar(dir)
    fs.writeFileSync(path.join(dir, "batch_0.bin"), Buffer.alloc(0))
    expect(await failureOf(cifarReader.load(spec))).toMatchObject({ _tag: "TruncatedFileError", offset: 0 })
  })

  it("a label out of range: LabelOutOfRangeError at the label byte", async () => {
    const dir = tempDir("cifar-label")
    const { spec } = writeCifar(dir, { layout: "cifar100-coarse", count: 10 })
    const file = path.join(dir, "batch_0.bin")
    const b = fs.readFileSync(file)
    const rec = 2 + 48
    b[3 * rec] = 20 // coarse label byte of record 3
    fs.writeFileSync(file, b)
    expect(await failureOf(cifarReader.load(spec))).toMatchObject({ _tag: "LabelOutOfRangeError", file, offset: 3 * rec, label: 20, numClasses: 20 })
  })
})
