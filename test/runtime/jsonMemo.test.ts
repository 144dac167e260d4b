/** The persisted memo table: concurrent flushes of one process (e.g. a plan during a run) neither fail nor leave temp files. */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { makeJsonMemo } from "../../runtime/cache/jsonMemo.ts"
import { tempDir } from "./harness.ts"

describe("jsonMemo", () => {
  it("20 concurrent flushes of two memos on one file all succeed; the file is one of them, whole; no temp file stays", async () => {
    const dir = await tempDir("memo")
    const file = path.join(dir, "memo", "table.json")
    const a = makeJsonMemo<number>(file)
    const b = makeJsonMemo<number>(file)
    const flushes = Array.from({ length: 20 }, (_, i) => {
      const m = i % 2 === 0 ? a : b
      m.set(`k${i}`, i)
      return Effect.runPromise(m.flush)
    })
    await Promise.all(flushes)
    const table = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, number>
    const keys = Object.keys(table)
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.every((k) => table[k] === Number(k.slice(1)))).toBe(true)
    expect((await fs.readdir(path.dirname(file))).filter((n) => n.endsWith(".tmp"))).toEqual([])
    // A memo reads back what was flushed.
    expect(makeJsonMemo<number>(file).get(keys[0]!)).toBe(table[keys[0]!])
  })
})
