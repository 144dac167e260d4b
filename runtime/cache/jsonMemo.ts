/**
 * A small persisted memo table: a JSON object read lazily from `file` (an
 * unreadable or absent file is an empty table) and written back atomically
 * on `flush` when something changed. Concurrent writers (other processes,
 * or two flushes of this process, e.g. a plan while a run is going): each
 * writes its own temp file and renames it into place, last one wins, which is
 * fine for memos (a lost entry is only recomputed). A failed write is not an
 * error for the same reason: the memo stays dirty and the next flush retries.
 */
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"

let tmpCounter = 0

export interface JsonMemo<V> {
  readonly get: (key: string) => V | undefined
  readonly set: (key: string, value: V) => void
  readonly flush: Effect.Effect<void>
}

export const makeJsonMemo = <V>(file: string | undefined): JsonMemo<V> => {
  let table: Record<string, V> | undefined
  let dirty = false
  const load = (): Record<string, V> => {
    if (table !== undefined) return table
    table = {}
    if (file !== undefined) {
      try {
        table = JSON.parse(readFileSync(file, "utf8")) as Record<string, V>
      } catch {
        table = {}
      }
    }
    return table
  }
  return {
    get: (key) => load()[key],
    set: (key, value) => {
      load()[key] = value
      dirty = true
    },
    flush: Effect.promise(async () => {
      if (file === undefined || !dirty || table === undefined) return
      // Unique per flush: pid, a counter and a random part (worker threads share the pid).
      const tmp = `${file}.${process.pid}.${++tmpCounter}.${Math.random().toString(36).slice(2, 8)}.tmp`
      dirty = false
      try {
        await fs.mkdir(path.dirname(file), { recursive: true })
        await fs.writeFile(tmp, JSON.stringify(table))
        await fs.rename(tmp, file)
      } catch {
        dirty = true
        await fs.rm(tmp, { force: true }).catch(() => undefined)
      }
    }),
  }
}
