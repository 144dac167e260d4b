/**
 * Facts about the running environment recorded in every manifest: the tensor
 * backend in use and the versions of what produced an entry.
 */
import { readFileSync } from "node:fs"
import { Context } from "effect"

const packageVersion = (name: string): string => {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
    return String((JSON.parse(readFileSync(url, "utf8")) as { version?: unknown }).version ?? "?")
  } catch {
    return "?"
  }
}

const ownVersion = (): string => {
  try {
    return String((JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown }).version)
  } catch {
    return "?"
  }
}

/** When and how one node's entry was computed (from its manifest, or from this run). */
export interface NodeTiming {
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationMs: number
  /** Peak resident memory of the process while the stage ran (see the manifest's `timings.peakRssBytes`). */
  readonly peakRssBytes?: number
  readonly backend: string
}

/**
 * What a stage running in-process may learn about the run it is part of
 * (`paper/report` states how it was made): every node of the plan with its
 * stage, its resolved config (defaults, preset and `--set` applied), whether
 * it was cached, and its timing once known. A snapshot, taken when asked.
 */
export interface RunFacts {
  readonly pipeline: string
  readonly preset: string | null
  readonly startedAt: string
  /** Default bound of fan-out groups run at once, and the worker-thread pool (`none` when absent). */
  readonly workers: number
  readonly pool: "none" | "fan-out" | "all"
  readonly nodes: ReadonlyArray<{
    readonly node: string
    readonly stage: string
    readonly config: unknown
    readonly status: "cached" | "will-run"
    /** The nodes it reads from. */
    readonly deps: ReadonlyArray<string>
    /** Absent while the node has not finished (or never will in this run). */
    readonly timing?: NodeTiming
    /** Present when its entry was adopted from older code (`ssl-kd cache adopt`): the fingerprint of the code that computed it. */
    readonly computedWithCode?: string
  }>
}

export interface RuntimeInfoShape {
  /** Tensor backend, e.g. `wasm (tfjs 4.22.0)`; `none` when no stage loaded tfjs. */
  readonly backend: () => string
  readonly versions: Readonly<Record<string, string>>
  /** The run this stage is part of (in pool workers: a snapshot taken when the job was sent); absent outside the executor. */
  readonly run?: () => RunFacts
}

export const defaultVersions = (): Readonly<Record<string, string>> => ({
  node: process.version,
  "ssl-kd": ownVersion(),
  effect: packageVersion("effect"),
  "@tensorflow/tfjs-core": packageVersion("@tensorflow/tfjs-core"),
})

export const RuntimeInfo = Context.Reference<RuntimeInfoShape>("ssl-kd/RuntimeInfo", {
  defaultValue: () => ({ backend: () => "none", versions: defaultVersions() }),
})
