/**
 * The safetensors codec: round trips of every writable dtype, reading of
 * the format's other dtypes, and malformed files (truncated, huge header
 * length, offsets out of range / overlapping / with holes, bad JSON, bad
 * dtype, shape vs byte length, seeded random byte flips and truncations):
 * each ends in a typed error naming the file (and tensor), never a crash.
 */
import { Cause, Effect, Exit } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { decodeSafetensors, encodeSafetensors, entryToFloat32, readSafetensors, writeSafetensors } from "../../../plugins/checkpoints/index.ts"

const file = "fuzz.safetensors"
const sample = () =>
  encodeSafetensors([
    { name: "a", shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-3, -7]) },
    { name: "b.half", shape: [4], data: Float32Array.from([1, 0.5, -65504, 2 ** -24]), dtype: "F16" },
    { name: "c.bf", shape: [2], data: Float32Array.from([1, -3]), dtype: "BF16" },
  ], { format: "pt" })

const withHeader = (header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array => {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

const tagOf = (bytes: Uint8Array): string => {
  const exit = Effect.runSyncExit(decodeSafetensors(bytes, file))
  if (Exit.isSuccess(exit)) return "ok"
  const err = Cause.squash(exit.cause)
  if (!(err instanceof Error) || !("_tag" in err) || typeof err._tag !== "string") return `untyped: ${String(err)}`
  expect(err.message).toContain(file)
  return err._tag
}

describe("safetensors round trip", () => {
  it("decodes what it encodes, with metadata and 8-byte aligned data", () => {
    const bytes = sample()
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    expect(n % 8).toBe(0)
    const c = Effect.runSync(decodeSafetensors(bytes, file))
    expect(c.metadata).toEqual({ format: "pt" })
    expect([...c.tensors.keys()]).toEqual(["a", "b.half", "c.bf"])
    const get = (k: string) => {
      const e = c.tensors.get(k)
      if (e === undefined) throw new Error(k)
      return e
    }
    expect(Array.from(entryToFloat32(get("a")))).toEqual(Array.from(Float32Array.from([1, -2, 3.5, 0, 1e-3, -7])))
    expect(Array.from(entryToFloat32(get("b.half")))).toEqual([1, 0.5, -65504, 2 ** -24])
    expect(get("b.half").dtype).toBe("F16")
    expect(Array.from(entryToFloat32(get("c.bf")))).toEqual([1, -3])
  })

  it("reads the format's other dtypes (F64, I64, I32, U8, BOOL) and zero-size tensors", () => {
    const data = new Uint8Array(8 + 8 + 4 + 1 + 1)
    const v = new DataView(data.buffer)
    v.setFloat64(0, 0.1, true)
    v.setBigInt64(8, -5n, true)
    v.setInt32(16, 123456, true)
    v.setUint8(20, 200)
    v.setUint8(21, 1)
    const c = Effect.runSync(decodeSafetensors(withHeader({
      f: { dtype: "F64", shape: [1], data_offsets: [0, 8] },
      i: { dtype: "I64", shape: [], data_offsets: [8, 16] },
      j: { dtype: "I32", shape: [1], data_offsets: [16, 20] },
      u: { dtype: "U8", shape: [1, 1], data_offsets: [20, 21] },
      z: { dtype: "F32", shape: [0, 4], data_offsets: [21, 21] },
      k: { dtype: "BOOL", shape: [1], data_offsets: [21, 22] },
    }, data), file))
    const vals = (k: string) => Array.from(entryToFloat32(c.tensors.get(k) ?? { name: k, dtype: "F32", shape: [0], bytes: new Uint8Array() }))
    expect(vals("f")).toEqual([Math.fround(0.1)])
    expect(vals("i")).toEqual([-5])
    expect(vals("j")).toEqual([123456])
    expect(vals("u")).toEqual([200])
    expect(vals("z")).toEqual([])
    expect(vals("k")).toEqual([1])
  })

  it("writes atomically and reads back from disk; a missing file is a typed read error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ssl-kd-st-"))
    const path = join(dir, "x.safetensors")
    await Effect.runPromise(writeSafetensors(path, [{ name: "w", shape: [2], data: Float32Array.from([3, 4]) }]))
    const c = await Effect.runPromise(readSafetensors(path))
    expect(Array.from(entryToFloat32(c.tensors.get("w") ?? { name: "", dtype: "F32", shape: [0], bytes: new Uint8Array() }))).toEqual([3, 4])
    const err = await Effect.runPromise(Effect.flip(readSafetensors(join(dir, "nope.safetensors"))))
    expect(err._tag).toBe("CheckpointIoError")
    expect(err.message).toContain("nope.safetensors")
    writeFileSync(join(dir, "short.safetensors"), new Uint8Array([1, 2, 3]))
    expect((await Effect.runPromise(Effect.flip(readSafetensors(join(dir, "short.safetensors")))))._tag).toBe("SafetensorsTruncated")
  })
})

describe("malformed safetensors end in typed errors", () => {
  const entry = (o: object) => ({ t: { dtype: "F32", shape: [2], data_offsets: [0, 8], ...o } })
  const cases: Array<[string, Uint8Array, string]> = [
    ["empty file", new Uint8Array(0), "SafetensorsTruncated"],
    ["header length only", withHeader("", new Uint8Array(0), 16n), "SafetensorsTruncated"],
    ["huge header length (2^63)", withHeader("{}", new Uint8Array(0), 2n ** 63n), "SafetensorsHeaderTooLarge"],
    ["header length beyond the file", withHeader("{}", new Uint8Array(0), 4096n), "SafetensorsTruncated"],
    ["bad JSON", withHeader("{\"t\": [", new Uint8Array(0)), "SafetensorsBadHeader"],
    ["JSON array header", withHeader("[1,2]"), "SafetensorsBadHeader"],
    ["invalid UTF-8", withHeader("\"\\u00ff\"", new Uint8Array(0)).map((b, i) => (i === 10 ? 0xff : b)), "SafetensorsBadHeader"],
    ["metadata not strings", withHeader({ __metadata__: { a: 1 } }), "SafetensorsBadHeader"],
    ["entry not an object", withHeader({ t: 3 }), "SafetensorsBadEntry"],
    ["bad dtype", withHeader(entry({ dtype: "F128" }), new Uint8Array(8)), "SafetensorsUnsupportedDtype"],
    ["dtype not a string", withHeader(entry({ dtype: 4 }), new Uint8Array(8)), "SafetensorsBadEntry"],
    ["negative shape", withHeader(entry({ shape: [-2] }), new Uint8Array(8)), "SafetensorsBadEntry"],
    ["fractional shape", withHeader(entry({ shape: [1.5] }), new Uint8Array(8)), "SafetensorsBadEntry"],
    ["overflowing shape", withHeader(entry({ shape: [2 ** 30, 2 ** 30, 2 ** 30] }), new Uint8Array(8)), "SafetensorsBadEntry"],
    ["shape vs byte length", withHeader(entry({ shape: [3] }), new Uint8Array(8)), "SafetensorsShapeMismatch"],
    ["offsets reversed", withHeader(entry({ data_offsets: [8, 0] }), new Uint8Array(8)), "SafetensorsBadOffsets"],
    ["offsets malformed", withHeader(entry({ data_offsets: [0] }), new Uint8Array(8)), "SafetensorsBadEntry"],
    ["offsets out of range", withHeader(entry({ data_offsets: [1000, 1008] }), new Uint8Array(8)), "SafetensorsBadOffsets"],
    ["data truncated", withHeader(entry({}), new Uint8Array(4)), "SafetensorsTruncated"],
    ["trailing bytes", withHeader(entry({}), new Uint8Array(12)), "SafetensorsBadOffsets"],
    ["hole before a tensor", withHeader(entry({ data_offsets: [4, 12] }), new Uint8Array(12)), "SafetensorsBadOffsets"],
    ["overlapping tensors", withHeader({
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    }, new Uint8Array(12)), "SafetensorsBadOffsets"],
  ]
  it.each(cases)("%s -> %s", (_, bytes, tag) => {
    expect(tagOf(bytes)).toBe(tag)
  })

  it("errors name the tensor and the problem", () => {
    const exit = Effect.runSyncExit(decodeSafetensors(withHeader(entry({ shape: [3] }), new Uint8Array(8)), file))
    const err = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(err instanceof Error ? err.message : "").toBe(`${file}: tensor "t" is F32[3] = 12 bytes, but its data_offsets span 8 bytes`)
  })

  it("500 seeded random byte flips and truncations of a valid file: typed error or a valid decode, never a crash", () => {
    let seed = 12345
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const valid = sample()
    const tags = new Map<string, number>()
    for (let i = 0; i < 500; i++) {
      let bytes = Uint8Array.from(valid)
      const flips = 1 + Math.floor(next() * 4)
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(next() * (next() < 0.7 ? Math.min(bytes.length, 8 + 200) : bytes.length))
        bytes[at] = Math.floor(next() * 256)
      }
      if (next() < 0.3) bytes = bytes.subarray(0, Math.floor(next() * bytes.length))
      const tag = tagOf(bytes)
      expect(tag.startsWith("untyped")).toBe(false)
      tags.set(tag, (tags.get(tag) ?? 0) + 1)
    }
    expect(tags.size).toBeGreaterThan(3)
  })
})
