/**
 * Why a stage reruns: for a node with no cached entry, compare its key's
 * ingredients with those of the key it had in the latest run of the same
 * pipeline (same preset first) — read from that entry's manifest — and name
 * what changed:
 *
 *   config lambda1: 0.5 -> 0.7
 *   code: plugins/stages/paper/distill.ts#jointDistill changed
 *   upstream ours changed
 *   data changed: /usr/share/datasets/fashion-mnist
 *
 * Code changes are named per declaration from the closure listings the plan
 * stores (`memo/closures/<fingerprint>.json`: declaration -> hash); without
 * one (an older cache) the cause is "code of stage X changed".
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import type { StoreShape } from "../cache/Store.ts"
import { readRunRecords } from "../cache/runRecord.ts"
import type { PluginKey } from "./plugins.ts"

/** What `explain` needs of a planned node. */
export interface StaleNode {
  readonly name: string
  readonly key: string
  readonly config: unknown
  readonly inputKeys: Readonly<Record<string, string | ReadonlyArray<{ readonly item: string; readonly key: string }>>>
  readonly inputNodes: Readonly<Record<string, string | ReadonlyArray<{ readonly item: string; readonly node: string }>>>
  readonly codeFingerprint: string
  readonly plugins: ReadonlyArray<PluginKey>
  readonly datasetIdentity: string | null
  readonly reads: ReadonlyArray<string>
}

const render = (v: unknown): string => {
  const s = v === undefined ? "(unset)" : JSON.stringify(v) ?? String(v)
  return s.length > 40 ? `${s.slice(0, 37)}...` : s
}

/** Changed leaves between two JSON values: `path: old -> new`. */
export const configChanges = (before: unknown, after: unknown, prefix = ""): ReadonlyArray<string> => {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => configChanges(before[k], after[k], prefix === "" ? k : `${prefix}.${k}`))
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return []
  return [`${prefix === "" ? "(config)" : prefix}: ${render(before)} -> ${render(after)}`]
}

export const closureFile = (storeRoot: string, fingerprint: string): string => path.join(storeRoot, "memo", "closures", `${fingerprint}.json`)

/** Store a closure listing (declaration -> hash) once per fingerprint. */
export const saveClosure = (storeRoot: string, fingerprint: string, declarations: ReadonlyMap<string, string>): Promise<void> => {
  const file = closureFile(storeRoot, fingerprint)
  return fs
    .access(file)
    .catch(async () => {
      await fs.mkdir(path.dirname(file), { recursive: true })
      await fs.writeFile(`${file}.${process.pid}.tmp`, JSON.stringify(Object.fromEntries(declarations)))
      await fs.rename(`${file}.${process.pid}.tmp`, file)
    })
    .catch(() => undefined)
}

const readClosure = async (storeRoot: string, fingerprint: string): Promise<Record<string, string> | undefined> => {
  try {
    return JSON.parse(await fs.readFile(closureFile(storeRoot, fingerprint), "utf8")) as Record<string, string>
  } catch {
    return undefined
  }
}

/** The folder every file of a closure lies in (for a project's stages, its checkout). */
const commonDir = (labels: ReadonlyArray<string>): string => {
  const dirs = labels.map((l) => path.dirname(l.split("#")[0] ?? ""))
  if (dirs.length === 0) return ""
  let prefix = dirs[0]!.split(path.sep)
  for (const d of dirs.slice(1)) {
    const parts = d.split(path.sep)
    let i = 0
    while (i < prefix.length && i < parts.length && prefix[i] === parts[i]) i++
    prefix = prefix.slice(0, i)
  }
  return prefix.join(path.sep)
}

/**
 * A closure keyed by each declaration's path inside its own checkout (so two
 * checkouts of one project compare), with the name to show: relative to the
 * working directory where the file lies inside it, else the checkout path.
 */
const relativeClosure = (closure: Record<string, string>): Map<string, { readonly hash: string; readonly shown: string }> => {
  const root = commonDir(Object.keys(closure))
  return new Map(Object.entries(closure).map(([label, hash]) => {
    const [file = "", name] = label.split("#")
    const inCheckout = root === "" ? file : path.relative(root, file)
    const fromCwd = path.relative(process.cwd(), file)
    return [`${inCheckout}#${name}`, { hash, shown: `${fromCwd.startsWith("..") || path.isAbsolute(fromCwd) ? inCheckout : fromCwd}#${name}` }]
  }))
}

/**
 * The declarations that differ between two code fingerprints' closures, as
 * one line. Declarations are matched by their path inside the checkout, so a
 * closure listed from another folder (another worktree, a moved project)
 * compares declaration by declaration.
 */
export const codeChanges = async (storeRoot: string, before: string, after: string, stage: string): Promise<string> => {
  const [ra, rb] = await Promise.all([readClosure(storeRoot, before), readClosure(storeRoot, after)])
  if (ra === undefined || rb === undefined) return `code of stage ${stage} changed`
  const [a, b] = [relativeClosure(ra), relativeClosure(rb)]
  const changed = [...b].filter(([k, v]) => a.has(k) && a.get(k)?.hash !== v.hash).map(([, v]) => `${v.shown} changed`)
  const added = [...b].filter(([k]) => !a.has(k)).map(([, v]) => `${v.shown} added`)
  const removed = [...a].filter(([k]) => !b.has(k)).map(([, v]) => `${v.shown} removed`)
  const all = [...changed, ...added, ...removed]
  if (all.length === 0) return `code of stage ${stage} changed (a package version, the checkout's folder or the declaration order)`
  return `code: ${all.slice(0, 3).join(", ")}${all.length > 3 ? ` and ${all.length - 3} more` : ""}`
}

/**
 * Causes for the nodes in `stale` (name -> cause), each compared with the
 * entry its node had in the latest run of `pipeline` that served or ran it.
 * Nodes with no earlier entry are left out (the caller keeps "no cached entry").
 */
export const explainStale = (
  store: StoreShape,
  pipeline: string,
  preset: string | undefined,
  stage: (node: string) => string,
  stale: ReadonlyArray<StaleNode>,
): Effect.Effect<ReadonlyMap<string, string>> =>
  Effect.gen(function* () {
    const out = new Map<string, string>()
    if (stale.length === 0) return out
    const records = (yield* readRunRecords(store.root)).filter((r) => r.pipeline === pipeline)
    const ordered = [...records.filter((r) => (r.preset ?? undefined) === preset), ...records.filter((r) => (r.preset ?? undefined) !== preset)]
    for (const n of stale) {
      const prevKey = ordered.flatMap((r) => r.stages.filter((s) => s.name === n.name && s.status !== "failed" && s.key !== n.key).map((s) => s.key))[0]
      if (prevKey === undefined) continue
      const found = yield* Effect.option(store.lookup(prevKey, "size"))
      if (found._tag === "None" || found.value._tag !== "Hit") {
        out.set(n.name, `no cached entry (the previous one, ${prevKey.slice(0, 12)}, is gone)`)
        continue
      }
      const m = found.value.manifest
      const causes: Array<string> = []
      const config = configChanges(m.config, n.config)
      if (config.length > 0) causes.push(`config ${config.slice(0, 3).join(", ")}${config.length > 3 ? ` and ${config.length - 3} more` : ""}`)
      for (const [input, key] of Object.entries(n.inputKeys)) {
        if (JSON.stringify(m.inputs[input]) === JSON.stringify(key)) continue
        const from = n.inputNodes[input]
        const names = from === undefined ? [input] : typeof from === "string" ? [from] : from.map((f) => f.node)
        const prev = m.inputs[input]
        const changedNames =
          Array.isArray(prev) && typeof key !== "string"
            ? names.filter((_, i) => JSON.stringify((prev as Array<{ key: string }>)[i]?.key) !== JSON.stringify(key[i]?.key))
            : names
        causes.push(`upstream ${(changedNames.length > 0 ? changedNames : names).slice(0, 3).join(", ")}${changedNames.length > 3 ? ` and ${changedNames.length - 3} more` : ""} changed`)
      }
      if (m.codeFingerprint !== n.codeFingerprint) causes.push(yield* Effect.promise(() => codeChanges(store.root, m.codeFingerprint, n.codeFingerprint, stage(n.name))))
      const before = new Map((m.plugins ?? []).map((p) => [`${p.what} "${p.name}"`, p]))
      for (const p of n.plugins) {
        const label = `${p.what} "${p.name}"`
        const was = before.get(label)
        if (was === undefined) causes.push(`plugin ${label} (${p.site}) now used`)
        else if (was.code !== p.code) causes.push(`plugin ${label} changed: ${(yield* Effect.promise(() => codeChanges(store.root, was.code, p.code, label))).replace(/^code: /, "")}`)
        before.delete(label)
      }
      for (const label of before.keys()) causes.push(`plugin ${label} no longer used`)
      if (m.datasetIdentity !== n.datasetIdentity) causes.push(`data changed: ${n.reads.slice(0, 2).join(", ") || "(files read)"}`)
      if (causes.length === 0) causes.push("the stage's name, output artifact or the cache format changed")
      out.set(n.name, causes.join("; "))
    }
    return out
  })
