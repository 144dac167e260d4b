/**
 * Planning: decode every config, fingerprint every stage, identify every
 * dataset and compute every cache key, in topological order, before anything
 * runs. A key is sha256 of: format version, stage name, output artifact,
 * canonical config (defaults applied), input keys, code fingerprint,
 * dataset identity and the fingerprints of the user plugins its config names
 * (plugins.ts), so keys form a Merkle DAG and `plan` needs no execution.
 */
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { resolveConfigs } from "../../dsl/Config.ts"
import type { ConfigError, UnknownNameError } from "../../dsl/errors.ts"
import { inputSources, isManySource, presetOverrides, resolveNodeNames, type Pipeline, type PipelineNode } from "../../dsl/Pipeline.ts"
import { canonicalJson, sha256 } from "../cache/hash.ts"
import { FORMAT_VERSION, type Manifest } from "../cache/manifest.ts"
import { ArtifactStore, type StoreIOError } from "../cache/Store.ts"
import type { DatasetIdentityError } from "../cache/fileIdentity.ts"
import { Fingerprinter, type FingerprintError } from "../fingerprint/Fingerprint.ts"
import { DatasetIdentity } from "./DatasetIdentity.ts"
import { type PluginKey, pluginsNamed } from "./plugins.ts"
import { explainStale, saveClosure } from "./why.ts"

export interface PlanOptions {
  readonly preset?: string | undefined
  /** Node or fan-out group names to recompute (with their descendants). */
  readonly force?: ReadonlyArray<string>
  /** Command-line config overrides: node -> field -> value. */
  readonly set?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
}

export interface PlannedNode {
  readonly node: PipelineNode
  readonly config: unknown
  readonly canonicalConfig: unknown
  /** Input name -> key, or [{item, key}] for fan-out inputs. */
  readonly inputKeys: Readonly<Record<string, string | ReadonlyArray<{ readonly item: string; readonly key: string }>>>
  /** Input name -> the node feeding it, or the `{item, node}` list of an `Artifact.many` input. */
  readonly inputNodes: Readonly<Record<string, string | ReadonlyArray<{ readonly item: string; readonly node: string }>>>
  readonly deps: ReadonlyArray<string>
  readonly codeFingerprint: string
  /** Plugins registered outside the stage's own code that its config names (empty for most stages). */
  readonly plugins: ReadonlyArray<PluginKey>
  /** The files that register them: a pool worker imports these before the stage's module. */
  readonly pluginFiles: ReadonlyArray<string>
  readonly datasetIdentity: string | null
  readonly reads: ReadonlyArray<string>
  readonly key: string
  readonly status: "cached" | "will-run"
  /** Why it will run: forced, corrupt entry, what changed since its last entry (see why.ts), or no cached entry. */
  readonly reason: string | undefined
  readonly manifest: Manifest | undefined
  readonly fingerprintMillis: number
}

export interface Plan {
  readonly pipeline: Pipeline<any>
  readonly preset: string | undefined
  readonly nodes: ReadonlyArray<PlannedNode>
  readonly forced: ReadonlySet<string>
}

export type PlanError = ConfigError | UnknownNameError | FingerprintError | DatasetIdentityError | StoreIOError

/** Nodes reachable downstream from `roots` (inclusive). */
const descendants = (pipeline: Pipeline<any>, roots: ReadonlyArray<string>): Set<string> => {
  const out = new Set(roots)
  for (const n of pipeline.nodes) {
    const deps = Object.values(n.inputs).flatMap((s) => inputSources(pipeline, s).map((x) => x.node))
    if (deps.some((d) => out.has(d))) out.add(n.name)
  }
  return out
}

export const makePlan = (
  pipeline: Pipeline<any>,
  options: PlanOptions = {},
): Effect.Effect<Plan, PlanError, ArtifactStore | Fingerprinter | DatasetIdentity> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const fingerprinter = yield* Fingerprinter
    const identity = yield* DatasetIdentity
    const overrides = yield* presetOverrides(pipeline, options.preset)
    for (const target of Object.keys(options.set ?? {})) yield* resolveNodeNames(pipeline, target)
    const configs = yield* resolveConfigs(pipeline, overrides, options.set ?? {})
    const forcedRoots: Array<string> = []
    for (const f of options.force ?? []) forcedRoots.push(...(yield* resolveNodeNames(pipeline, f)))
    const forced = descendants(pipeline, forcedRoots)

    const keys = new Map<string, string>()
    const closures = new Map<string, ReadonlyMap<string, string>>()
    const planned: Array<PlannedNode> = []
    for (const node of pipeline.nodes) {
      const config = configs.get(node.name)
      const canonicalConfig = Schema.encodeSync(node.stage.config)(config)
      const inputKeys: Record<string, string | ReadonlyArray<{ item: string; key: string }>> = {}
      const deps: Array<string> = []
      const inputNodes: Record<string, string | ReadonlyArray<{ item: string; node: string }>> = {}
      for (const [input, from] of Object.entries(node.inputs)) {
        const sources = inputSources(pipeline, from)
        deps.push(...sources.map((x) => x.node))
        if (isManySource(pipeline, from)) {
          inputKeys[input] = sources.map(({ item, node }) => ({ item, key: keys.get(node)! }))
          inputNodes[input] = sources
        } else {
          inputKeys[input] = keys.get(sources[0]!.node)!
          inputNodes[input] = sources[0]!.node
        }
      }
      const fp = yield* fingerprinter.fingerprint(node.stage)
      if (fp.declarations !== undefined) closures.set(fp.fingerprint, fp.declarations)
      const plugins: Array<PluginKey> = []
      const pluginFiles = new Set<string>()
      for (const use of pluginsNamed(canonicalConfig)) {
        if (fp.files.has(use.site.file)) continue // the stage's own closure covers this registration (a built-in)
        const pfp = yield* fingerprinter.fingerprintSite(node.stage.name, `${use.what} "${use.name}"`, use.site)
        if (pfp.declarations !== undefined) closures.set(pfp.fingerprint, pfp.declarations)
        plugins.push({ what: use.what, name: use.name, site: `${use.site.file}:${use.site.line}`, code: pfp.fingerprint })
        pluginFiles.add(use.site.file)
      }
      const reads = node.stage.reads(config).map((p) => path.resolve(p))
      const datasetIdentity = reads.length === 0 ? null : yield* identity.identify(reads)
      const key = sha256(
        canonicalJson({
          format: FORMAT_VERSION,
          stage: node.stage.name,
          output: node.stage.output.name,
          config: canonicalConfig,
          inputs: inputKeys,
          code: fp.fingerprint,
          data: datasetIdentity,
          // absent when empty, so keys of stages without user plugins are as before
          ...(plugins.length === 0 ? {} : { plugins: plugins.map((p) => ({ what: p.what, name: p.name, code: p.code })) }),
        }),
      )
      keys.set(node.name, key)
      let status: PlannedNode["status"] = "will-run"
      let reason: string | undefined
      let manifest: Manifest | undefined
      if (forced.has(node.name)) reason = "forced"
      else {
        const found = yield* store.lookup(key, "size")
        if (found._tag === "Hit") {
          status = "cached"
          manifest = found.manifest
        } else if (found._tag === "Corrupt") reason = `corrupt cache entry (${found.reason})`
        else reason = "no cached entry"
      }
      planned.push({
        node,
        config,
        canonicalConfig,
        inputKeys,
        inputNodes,
        deps,
        codeFingerprint: fp.fingerprint,
        plugins,
        pluginFiles: [...pluginFiles].sort(),
        datasetIdentity,
        reads,
        key,
        status,
        reason,
        manifest,
        fingerprintMillis: fp.millis,
      })
    }
    yield* fingerprinter.flush
    yield* identity.flush
    yield* Effect.promise(() => Promise.all([...closures].map(([fp, decls]) => saveClosure(store.root, fp, decls))))
    // Name what changed for each node whose entry is missing.
    const causes = yield* explainStale(
      store,
      pipeline.name,
      options.preset,
      (name) => pipeline.nodes.find((n) => n.name === name)?.stage.name ?? name,
      planned.filter((p) => p.status === "will-run" && p.reason === "no cached entry").map((p) => ({ ...p, name: p.node.name, config: p.canonicalConfig })),
    )
    const explained = planned.map((p) => (causes.has(p.node.name) ? { ...p, reason: causes.get(p.node.name) } : p))
    return { pipeline, preset: options.preset, nodes: explained, forced }
  })
