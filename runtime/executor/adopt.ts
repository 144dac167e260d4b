/**
 * Adoption: carry entries across a code change that does not change results
 * (a refactor, a new log line), as `dvc commit` does for DVC. Every cache key
 * contains its stage's code fingerprint, so such a change makes every stage
 * it touches a miss, and a run of hours would be recomputed to get the same
 * numbers. `ssl-kd cache adopt <pipeline.ts>` gives each missing node the
 * entry of an earlier run whose key differs from the node's only by code:
 *
 *  - same stage and output artifact, the same canonical config (defaults
 *    applied), the same dataset identity (the files' digests) and the same
 *    user plugins by name;
 *  - every input the entry was computed from is the node's input, or an entry
 *    adopted for it in this pass (so a chain is carried only from its root);
 *  - the candidates, when several match, have identical payloads (those of
 *    the same node name are taken first: another pipeline may have computed
 *    the same value, with its own timings in the payload).
 *
 * The code may differ, and that is the one thing adoption takes on trust: it
 * names the declarations that changed (from the closure listings the plan
 * keeps) so the user can judge, and `--dry-run` shows all of it first. An
 * adopted entry is a new entry under the node's key, its payload copied from
 * the old one (checksums checked on the way), with its own inputs, code
 * fingerprint and `adoptedFrom` (the old key, its code fingerprint, the time)
 * in the manifest; timings, backend and versions stay those of the run that
 * computed it. The old entry is left as it was.
 */
import { Effect } from "effect"
import type { CorruptEntryError, StoreIOError } from "../cache/errors.ts"
import { canonicalJson } from "../cache/hash.ts"
import type { Manifest } from "../cache/manifest.ts"
import { ArtifactStore } from "../cache/Store.ts"
import type { Plan, PlannedNode } from "./plan.ts"
import { codeChanges } from "./why.ts"

export interface Adoption {
  readonly node: string
  readonly stage: string
  /** The node's key under the current code. */
  readonly key: string
  /** The entry it takes its payload from. */
  readonly from: { readonly key: string; readonly pipeline: string; readonly node: string; readonly finishedAt: string; readonly durationMs: number }
  /** What differs in the code ("code: plugins/stages/paper/distill.ts#top1 changed"). */
  readonly code: string
}

export interface AdoptReport {
  readonly dryRun: boolean
  /** Nodes already cached under the current code. */
  readonly cached: ReadonlyArray<string>
  readonly adopted: ReadonlyArray<Adoption>
  /** Nodes with no entry to adopt, and why. */
  readonly left: ReadonlyArray<{ readonly node: string; readonly reason: string }>
}

type InputKeys = PlannedNode["inputKeys"][string]

/** Whether the entry's recorded input is the node's input (or an entry standing in for it). */
const inputMatches = (was: unknown, now: InputKeys, standIns: ReadonlyMap<string, ReadonlySet<string>>): boolean => {
  const same = (old: unknown, current: string) => typeof old === "string" && (standIns.get(current)?.has(old) ?? false)
  if (typeof now === "string") return same(was, now)
  if (!Array.isArray(was) || was.length !== now.length) return false
  return now.every((n, i) => {
    const w: unknown = was[i]
    return typeof w === "object" && w !== null && Reflect.get(w, "item") === n.item && same(Reflect.get(w, "key"), n.key)
  })
}

const payloadId = (m: Manifest): string => canonicalJson(m.files.map((f) => [f.name, f.sha256]))

/** Why no entry of the node's stage qualifies: the first ingredient that differs in the closest one. */
const whyNone = (n: PlannedNode, sameStage: ReadonlyArray<Manifest>, standIns: ReadonlyMap<string, ReadonlySet<string>>): string => {
  if (sameStage.length === 0) return `no entry of stage ${n.node.stage.name} in the store`
  const config = canonicalJson(n.canonicalConfig)
  const withConfig = sameStage.filter((m) => canonicalJson(m.config) === config)
  if (withConfig.length === 0) return `no entry of stage ${n.node.stage.name} with this config`
  const withData = withConfig.filter((m) => m.datasetIdentity === n.datasetIdentity)
  if (withData.length === 0) return "no entry with this config read the same data files"
  const upstream = Object.entries(n.inputKeys).filter(([input, keys]) => !withData.some((m) => inputMatches(m.inputs[input], keys, standIns)))
  if (upstream.length > 0) return `no entry with this config was computed from the current ${upstream.map(([i]) => i).join(", ")} (upstream not cached or adopted)`
  return "the entries with this config name other user plugins"
}

/**
 * Adopts entries for every node of `plan` that will run for want of an entry
 * (not forced, not corrupt), in plan order so that a node's inputs are
 * settled before it. With `dryRun`, only says what it would do.
 */
export const adoptEntries = (plan: Plan, options: { readonly dryRun: boolean }): Effect.Effect<AdoptReport, StoreIOError | CorruptEntryError, ArtifactStore> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const byStage = new Map<string, Array<Manifest>>()
    for (const key of yield* store.keys()) {
      const found = yield* store.lookup(key, "size")
      if (found._tag !== "Hit") continue
      const m = found.manifest
      const group = `${m.stage}\0${m.output}`
      const list = byStage.get(group)
      if (list === undefined) byStage.set(group, [m])
      else list.push(m)
    }
    /** Current key -> the keys whose entries hold its value (itself when cached, the adopted entries' keys). */
    const standIns = new Map<string, ReadonlySet<string>>()
    const cached: Array<string> = []
    const adopted: Array<Adoption> = []
    const left: Array<{ node: string; reason: string }> = []
    for (const n of plan.nodes) {
      const name = n.node.name
      if (n.status === "cached") {
        standIns.set(n.key, new Set([n.key]))
        cached.push(name)
        continue
      }
      if (plan.forced.has(name)) {
        left.push({ node: name, reason: "forced (--force): computed again, never adopted" })
        continue
      }
      const sameStage = byStage.get(`${n.node.stage.name}\0${n.node.stage.output.name}`) ?? []
      const config = canonicalJson(n.canonicalConfig)
      const plugins = canonicalJson(n.plugins.map((p) => [p.what, p.name]))
      const candidates = sameStage.filter((m) =>
        m.key !== n.key &&
        canonicalJson(m.config) === config &&
        m.datasetIdentity === n.datasetIdentity &&
        canonicalJson((m.plugins ?? []).map((p) => [p.what, p.name])) === plugins &&
        Object.keys(m.inputs).length === Object.keys(n.inputKeys).length &&
        Object.entries(n.inputKeys).every(([input, keys]) => inputMatches(m.inputs[input], keys, standIns)),
      )
      if (candidates.length === 0) {
        left.push({ node: name, reason: whyNone(n, sameStage, standIns) })
        continue
      }
      // The entries this node had (same name) before those another pipeline's node computed alike.
      const own = candidates.filter((m) => m.node === name)
      const chosen = own.length > 0 ? own : candidates
      if (new Set(chosen.map(payloadId)).size > 1) {
        left.push({ node: name, reason: `${chosen.length} entries match with different payloads (${chosen.map((c) => c.key.slice(0, 12)).join(", ")}): not adopted` })
        continue
      }
      // The entry computed under its own key first (an adopted copy has the same payload), then the newest.
      const from = [...chosen].sort((a, b) =>
        Number(a.adoptedFrom !== undefined) - Number(b.adoptedFrom !== undefined) || b.timings.finishedAt.localeCompare(a.timings.finishedAt)
      )[0]!
      const code = from.codeFingerprint === n.codeFingerprint && canonicalJson(from.plugins ?? []) === canonicalJson(n.plugins)
        ? "code unchanged (an input was adopted)"
        : yield* Effect.promise(() => codeChanges(store.root, from.codeFingerprint, n.codeFingerprint, n.node.stage.name))
      adopted.push({
        node: name,
        stage: n.node.stage.name,
        key: n.key,
        from: { key: from.key, pipeline: from.pipeline, node: from.node, finishedAt: from.timings.finishedAt, durationMs: from.timings.durationMs },
        code,
      })
      standIns.set(n.key, new Set(chosen.map((c) => c.key)))
      if (options.dryRun) continue
      const payload = yield* store.readPayload(from)
      const { files: _files, ...rest } = from
      yield* store.commit(
        {
          ...rest,
          key: n.key,
          node: name,
          pipeline: plan.pipeline.name,
          inputs: n.inputKeys,
          codeFingerprint: n.codeFingerprint,
          ...(n.plugins.length === 0 ? {} : { plugins: n.plugins }),
          reads: n.reads,
          adoptedFrom: {
            key: from.key,
            codeFingerprint: from.codeFingerprint,
            computedWithCode: from.adoptedFrom?.computedWithCode ?? from.codeFingerprint,
            adoptedAt: new Date().toISOString(),
          },
        },
        [...payload].map(([fileName, bytes]) => ({ name: fileName, bytes })),
        // The metrics that entry's run published (its sidecars), so the adopted entry reports the same.
        { replace: false, sidecars: [...(yield* store.readSidecars(from.key))].map(([name, bytes]) => ({ name, bytes })) },
      )
    }
    return { dryRun: options.dryRun, cached, adopted, left }
  })
