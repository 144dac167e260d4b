/**
 * Where a worker can find a stage: the module it was declared in (its
 * captured declaration site, the one the code fingerprint reads) and the
 * name under which that module exports it. A stage that is not an exported
 * top-level value cannot be re-created in a worker; the executor runs it
 * in-process instead and says why.
 */
import { existsSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import type { AnyStage } from "../../../dsl/Stage.ts"
import type { StageAddress } from "./protocol.ts"

export type Located = { readonly _tag: "Found"; readonly address: StageAddress } | { readonly _tag: "NotPoolable"; readonly reason: string }

const isStage = (v: unknown): v is AnyStage => typeof v === "object" && v !== null && (v as { _tag?: unknown })._tag === "Stage"

const sameSite = (a: AnyStage, b: AnyStage): boolean =>
  a.name === b.name && a.location?.file === b.location?.file && a.location?.line === b.location?.line && a.location?.column === b.location?.column

const memo = new WeakMap<AnyStage, Promise<Located>>()

const locateNow = async (stage: AnyStage): Promise<Located> => {
  const loc = stage.location
  if (loc === undefined) return { _tag: "NotPoolable", reason: `the declaration site of stage ${stage.name} is unknown` }
  const file = loc.file
  if (!path.isAbsolute(file) || !existsSync(file)) return { _tag: "NotPoolable", reason: `stage ${stage.name} was declared in ${file}, which is not a file here` }
  const moduleUrl = pathToFileURL(file).href
  let mod: Record<string, unknown>
  try {
    mod = (await import(moduleUrl)) as Record<string, unknown>
  } catch (e) {
    return { _tag: "NotPoolable", reason: `its module ${file} does not load (${e instanceof Error ? e.message.split("\n")[0] : String(e)})` }
  }
  const entries = Object.entries(mod)
  // The very object first; else the same declaration site (a re-imported module instance).
  const found = entries.find(([, v]) => v === stage) ?? entries.find(([, v]) => isStage(v) && sameSite(v, stage))
  if (found === undefined) {
    return { _tag: "NotPoolable", reason: `stage ${stage.name} is not an exported top-level value of ${path.basename(file)}` }
  }
  return { _tag: "Found", address: { moduleUrl, exportName: found[0], stageName: stage.name } }
}

/** Locate `stage` (memoized per stage object). */
export const locateStage = (stage: AnyStage): Effect.Effect<Located> =>
  Effect.promise(() => {
    let p = memo.get(stage)
    if (p === undefined) {
      p = locateNow(stage)
      memo.set(stage, p)
    }
    return p
  })
