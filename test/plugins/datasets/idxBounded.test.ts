/**
 * Issue 17, finding 10: IDX gzip files are inflated incrementally; the magic
 * and the declared sizes are checked on the first inflated bytes and the
 * output is capped at the declared size, so a gzip bomb costs neither memory
 * nor the time to inflate it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { idxReader } from "../../../plugins/datasets/readers/idx.ts"
import { failureOf, run, tempDir, writeIdx } from "./helpers.ts"

/** `members` gzip members of 16 MiB of zeros each (gzip readers inflate concatenated members). */
const zeros = (members: number): Buffer => {
  const one = zlib.gzipSync(Buffer.alloc(16 << 20), { level: 9 })
  return Buffer.concat(Array.from({ length: members }, () => one))
}

describe("IDX gzip bombs (finding 10)", () => {
  const imgFile = (dir: string) => path.join(dir, "train-images-idx3-ubyte")

  it("a bomb without the IDX magic fails on its first bytes: BadMagicError, not a 1 GiB inflate", async () => {
    const dir = tempDir("idx-bomb")
    const { spec } = writeIdx(dir, { count: 20, size: 6 })
    fs.writeFileSync(imgFile(dir), zeros(80)) // 1.25 GiB inflated, ~1.3 MB compressed
    const started = Date.now()
    const err = await failureOf(idxReader.load(spec))
    expect(err).toMatchObject({ _tag: "BadMagicError", file: imgFile(dir), offset: 0, found: "00 00 00 00" })
    expect(Date.now() - started).toBeLessThan(20_000)
  }, 60_000)

  it("a valid header followed by a bomb: TrailingBytesError at the declared end, output capped at the declared size", async () => {
    const dir = tempDir("idx-bomb2")
    const { spec } = writeIdx(dir, { count: 20, size: 6 })
    const raw = fs.readFileSync(imgFile(dir))
    fs.writeFileSync(imgFile(dir), Buffer.concat([zlib.gzipSync(raw), zeros(80)]))
    const err = await failureOf(idxReader.load(spec))
    expect(err).toMatchObject({ _tag: "TrailingBytesError", file: imgFile(dir), offset: 16 + 20 * 36 })
    expect((err as { extra: number }).extra).toBeGreaterThan(0)
  }, 60_000)

  it("gzip data shorter than its header declares: TruncatedFileError with inflated offsets", async () => {
    const dir = tempDir("idx-gz-short")
    const { spec } = writeIdx(dir, { count: 20, size: 6 })
    const raw = fs.readFileSync(imgFile(dir))
    fs.writeFileSync(imgFile(dir), zlib.gzipSync(raw.subarray(0, raw.length - 7)))
    expect(await failureOf(idxReader.load(spec))).toMatchObject({ _tag: "TruncatedFileError", offset: raw.length - 7, needed: raw.length })
    fs.writeFileSync(imgFile(dir), zlib.gzipSync(raw.subarray(0, 10)))
    expect(await failureOf(idxReader.load(spec))).toMatchObject({ _tag: "TruncatedFileError", offset: 10, needed: 16 })
  })

  it("a well-formed gzip IDX file still decodes exactly", async () => {
    const dir = tempDir("idx-gz-ok")
    const { spec, pixels, labels } = writeIdx(dir, { gzip: true, count: 30, size: 5 })
    const set = await run(idxReader.load(spec))
    expect(Array.from(set.labels)).toEqual(labels)
    expect(Buffer.from(set.images).equals(Buffer.from(pixels))).toBe(true)
  })
})
