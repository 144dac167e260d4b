/**
 * Issue 17, finding 8: safetensors files over 2 GiB. The header is read and
 * validated first, then tensors one at a time with positional reads, so a
 * file of any size is opened without reading it whole. The files here are
 * sparse (no disk used); each check runs in a child process, since reading
 * such a file whole used to abort node (`args[3]->IsInt32()`).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const FILE_TS = fileURLToPath(new URL("../../../plugins/checkpoints/safetensors/file.ts", import.meta.url))
const BIG = 2 ** 31 + 64 // bytes of the big tensor: over 2 GiB

/** A sparse safetensors file: a U8 tensor "big" of BIG zero bytes, then "small" (F32 [4]). */
const writeSparse = (file: string, header: Record<string, unknown>, tail: Uint8Array, gap = BIG) => {
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  const fd = fs.openSync(file, "w")
  fs.writeSync(fd, len, 0, 8, 0)
  fs.writeSync(fd, json, 0, json.length, 8)
  fs.writeSync(fd, tail, 0, tail.length, 8 + json.length + gap)
  fs.closeSync(fd)
}

const child = (script: string) =>
  spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 120_000 })

describe("safetensors over 2 GiB (finding 8)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-st-large-"))
  const small = Float32Array.from([1.5, -2, 3.25, 1e-3])

  it("reads one tensor at an offset past 2 GiB without reading the file whole", () => {
    const file = path.join(dir, "big.safetensors")
    writeSparse(file, { big: { dtype: "U8", shape: [BIG], data_offsets: [0, BIG] }, small: { dtype: "F32", shape: [4], data_offsets: [BIG, BIG + 16] } }, new Uint8Array(small.buffer))
    expect(fs.statSync(file).size).toBeGreaterThan(2 ** 31)
    const r = child(`
      import { Effect } from "effect"
      import { openSafetensors } from ${JSON.stringify(FILE_TS)}
      const out = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
        const st = yield* openSafetensors(${JSON.stringify(file)})
        const e = yield* st.read("small")
        return { names: [...st.entries.keys()], big: st.entries.get("big").byteLength, small: Array.from(new Float32Array(e.bytes.slice().buffer)) }
      })))
      console.log(JSON.stringify(out))`)
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.trim())).toEqual({ names: ["big", "small"], big: BIG, small: Array.from(small) })
  }, 150_000)

  it("a bad header in a file over 2 GiB is a typed error, found before any data is read", () => {
    const file = path.join(dir, "bad.safetensors")
    // 8 GiB: more than one buffer can hold, so only a header-first reader gets to the header's problem
    writeSparse(file, { big: { dtype: "Q4", shape: [2 ** 33], data_offsets: [0, 2 ** 33] } }, new Uint8Array(1), 2 ** 33 - 1)
    const r = child(`
      import { Effect } from "effect"
      import { readSafetensors } from ${JSON.stringify(FILE_TS)}
      const e = await Effect.runPromise(Effect.flip(readSafetensors(${JSON.stringify(file)})))
      console.log(JSON.stringify({ tag: e._tag, message: e.message }))`)
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ tag: "SafetensorsUnsupportedDtype" })
  }, 150_000)
})
