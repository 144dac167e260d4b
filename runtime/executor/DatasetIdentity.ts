/**
 * Dataset identity as a service: content hashes of the files stages read,
 * memoized by size and mtime in the store's `memo/digests.json`.
 */
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Context, Effect, Layer } from "effect"
import { identifyPaths, type DatasetIdentityError, type DigestMemo, type FileDigest } from "../cache/fileIdentity.ts"

export interface DatasetIdentityShape {
  readonly identify: (paths: ReadonlyArray<string>) => Effect.Effect<string, DatasetIdentityError>
  readonly flush: Effect.Effect<void>
}

export class DatasetIdentity extends Context.Service<DatasetIdentity, DatasetIdentityShape>()("ssl-kd/DatasetIdentity") {}

export const makeDatasetIdentity = (memoFile: string | undefined): DatasetIdentityShape => {
  let entries: Record<string, FileDigest> | undefined
  let dirty = false
  const table = () => {
    if (entries !== undefined) return entries
    entries = {}
    if (memoFile !== undefined) {
      try {
        entries = JSON.parse(readFileSync(memoFile, "utf8")) as Record<string, FileDigest>
      } catch {
        entries = {}
      }
    }
    return entries
  }
  const memo: DigestMemo = {
    get: (p) => table()[p],
    set: (p, d) => {
      table()[p] = d
      dirty = true
    },
  }
  return {
    identify: (paths) => identifyPaths(paths, memo),
    flush: Effect.promise(async () => {
      if (memoFile === undefined || !dirty) return
      await fs.mkdir(path.dirname(memoFile), { recursive: true })
      const tmp = `${memoFile}.${process.pid}.tmp`
      await fs.writeFile(tmp, JSON.stringify(table()))
      await fs.rename(tmp, memoFile)
      dirty = false
    }),
  }
}

export const layer = (memoFile: string | undefined): Layer.Layer<DatasetIdentity> =>
  Layer.sync(DatasetIdentity, () => makeDatasetIdentity(memoFile))
