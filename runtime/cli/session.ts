/** What the pipeline commands share: common flags, the executor layer, and the JSON shape of results. */
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Layer } from "effect"
import type { BackendInfo, TensorBackend } from "../backend/TensorBackend.ts"
import { defaultVersions, type RuntimeInfoShape } from "../executor/RuntimeInfo.ts"
import { layerLocal } from "../executor/Executor.ts"
import { makeFileStore } from "../cache/Store.ts"
import { openRemoteStore, type RemoteStoreShape } from "../cache/remoteStore.ts"
import type { NodeOutcome } from "../executor/execute.ts"
import type { Pipeline } from "../../dsl/Pipeline.ts"
import type { Plan } from "../executor/plan.ts"
import { layerFor, layerSilent } from "../progress/Progress.ts"
import type { CliIO } from "./Command.ts"
import type { OptionDocs } from "./help.ts"

/** Options of the commands that run or plan a pipeline (`run`, `plan`, `watch`), with their help. */
export const pipelineOptions = {
  preset: {
    type: "string",
    value: "P",
    text: "Apply the pipeline's preset P (a named scale: config overrides, or for a pipeline family its member); without it, the default. `ssl-kd run FILE --help` lists the presets of FILE.",
    example: "ssl-kd run pipelines/paper.ts --preset smoke",
  },
  set: {
    type: "string",
    multiple: true,
    value: "NODE.FIELD=VALUE",
    text: "Override one config field of a node (or of every item of a fan-out group); VALUE is JSON when it parses, else a string. Wins over presets.",
    example: "ssl-kd run pipelines/paper.ts --set ours.lambda1=0.7",
  },
  force: {
    type: "string",
    multiple: true,
    value: "STAGE",
    text: "Recompute this node or fan-out group and everything downstream of it, even when cached.",
    example: "ssl-kd run pipelines/paper.ts --force ours",
  },
  json: { type: "boolean", text: "Print one JSON object on stdout (progress stays on stderr).", example: "ssl-kd plan pipelines/paper.ts --json" },
  "data-dir": {
    type: "string",
    value: "DIR",
    text: "Read datasets from DIR/<dataset>/ instead of /usr/share/datasets (same as SSL_KD_DATA_DIR=DIR).",
    example: "ssl-kd run pipelines/paper.ts --data-dir ~/datasets",
  },
  "cache-dir": {
    type: "string",
    value: "DIR",
    text: "The artifact store (default .ssl-kd/ in the working directory, or SSL_KD_CACHE_DIR).",
    example: "ssl-kd run pipelines/paper.ts --cache-dir /scratch/ssl-kd",
  },
  "remote-store": {
    type: "string",
    value: "URL",
    text: "A store every machine reaches, behind the local one (--cache-dir becomes a read-through cache of it): entries missing here are copied from it, new ones go to both, checkpoints live there. file:///path or a folder path on a shared file system (or SSL_KD_REMOTE_STORE).",
    example: "ssl-kd run pipelines/paper.ts --remote-store file:///shared/ssl-kd",
  },
  workers: {
    type: "string",
    value: "N",
    text: "Run at most N fan-out items at once, each in a worker thread with its own tensor engine (default: the CPU cores; 1 keeps everything in this process).",
    example: "ssl-kd run pipelines/paper.ts --workers 2",
  },
  backend: {
    type: "string",
    value: "node-gpu|node|native|wasm|cpu",
    text: "Force a tensor backend (default: SSL_KD_BACKEND, else the first available of node-gpu, node, native, wasm, cpu); a forced backend that is absent is an error.",
    example: "ssl-kd run pipelines/paper.ts --backend wasm",
  },
  quiet: { type: "boolean", text: "No progress lines (errors and the final table only).", example: "ssl-kd run pipelines/paper.ts --quiet" },
  verbose: {
    type: "boolean",
    short: "v",
    text: "List every stage, cached ones included (by default a run that serves stages from the cache summarises them in one line).",
    example: "ssl-kd run pipelines/paper.ts -v",
  },
} as const satisfies OptionDocs

/** The options that every pipeline command shares (a subset of {@link pipelineOptions}). */
export const commonOptions = pipelineOptions

/** `--data-dir DIR`: the dataset root for this process and its workers (the dataset registry reads SSL_KD_DATA_DIR). */
export const applyDataDir = (io: CliIO, flag: string | undefined): void => {
  if (flag !== undefined && flag !== "") process.env.SSL_KD_DATA_DIR = path.resolve(io.cwd, flag)
}

/** Lines for `--help` of a pipeline command given a pipeline file: its presets, or how to list them. */
export const presetHelp = (positionals: ReadonlyArray<string>, io: CliIO): Effect.Effect<ReadonlyArray<string>> => {
  const file = positionals[0]
  if (file === undefined) return Effect.succeed(["Presets: give the pipeline file to list them, e.g. `ssl-kd run pipelines/paper.ts --help`."])
  return Effect.promise(() => import("./loadPipeline.ts")).pipe(
    Effect.flatMap(({ loadPresets }) => loadPresets(file, io.cwd)),
    Effect.map((p) => [`Presets of ${file} (pipeline ${p.name}): ${p.presets.join(", ") || "(none)"}${p.default === undefined ? "" : `; default: ${p.default}`}.`]),
    Effect.orElseSucceed(() => [`Presets: ${file} could not be loaded to list them (\`ssl-kd graph ${file} --format json\` says why).`]),
  )
}

export const DEFAULT_CACHE_DIR = ".ssl-kd"

export const cacheDirOf = (io: CliIO, flag: string | undefined) => path.resolve(io.cwd, flag ?? process.env.SSL_KD_CACHE_DIR ?? DEFAULT_CACHE_DIR)

/** `--remote-store URL` (or SSL_KD_REMOTE_STORE), opened; undefined without one. */
export const remoteStoreOf = (io: CliIO, flag: string | undefined, options: { readonly create?: boolean } = {}) => {
  const value = flag ?? process.env.SSL_KD_REMOTE_STORE
  return value === undefined || value === "" ? Effect.succeed(undefined) : openRemoteStore(value, io.cwd, options)
}

/** `--workers N` when it is a positive number. */
const workersFlag = (flag: string | undefined): number | undefined => {
  const n = flag === undefined ? undefined : Math.floor(Number(flag))
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined
}

export const executorLayer = (
  io: CliIO,
  values: { "cache-dir"?: string | undefined; workers?: string | undefined; quiet?: boolean | undefined; verbose?: boolean | undefined; cluster?: string | undefined },
  remoteStore?: RemoteStoreShape,
) => {
  const workers = workersFlag(values.workers)
  const progress = values.quiet === true ? layerSilent : layerFor(process.stderr, { verbose: values.verbose === true })
  const local = { cacheDir: cacheDirOf(io, values["cache-dir"]), ...(workers !== undefined ? { workers } : {}), ...(remoteStore === undefined ? {} : { remoteStore }) }
  const url = values.cluster
  // The cluster modules load only for a clustered run.
  const executor =
    url === undefined
      ? layerLocal(local)
      : Layer.unwrap(Effect.promise(() => import("../cluster/ClusterExecutor.ts")).pipe(Effect.map((m) => m.layerCluster({ ...local, url, projectRoot: io.cwd }))))
  return executor.pipe(Layer.provide(progress))
}

/**
 * The worker pool for fan-out items (one tfjs engine per worker thread): on
 * when more than one worker is allowed (`--workers`, default the CPU cores),
 * each worker selecting its backend with the same `--backend` /
 * `SSL_KD_BACKEND` as this process. `SSL_KD_POOL=off` keeps every stage
 * in-process; `SSL_KD_POOL=on` uses a pool even with one worker;
 * `SSL_KD_POOL=all` runs every stage in the pool, not only fan-out items,
 * with one worker too (`--workers 1`: one stage at a time, which bounds
 * memory; in-process, independent stages all run at once).
 */
export const poolOptions = (values: { workers?: string | undefined; backend?: string | undefined }, env: NodeJS.ProcessEnv = process.env) => {
  const workers = workersFlag(values.workers) ?? os.availableParallelism()
  const mode = env.SSL_KD_POOL?.toLowerCase()
  if (mode === "off" || mode === "0") return undefined
  if (workers <= 1 && mode !== "on" && mode !== "1" && mode !== "all") return undefined
  return { workers, tensorBackend: { flag: values.backend, env: env.SSL_KD_BACKEND }, ...(mode === "all" ? { scope: "all" as const } : {}) }
}

export const short = (key: string) => key.slice(0, 12)

export type JsonStatus = "ran" | "cached" | "failed" | "will-run"

export interface JsonStage {
  readonly name: string
  readonly stage: string
  readonly key: string
  readonly status: JsonStatus
  readonly reason?: string
  readonly durationMs?: number
  readonly error?: { readonly _tag: string; readonly message: string }
}

export const planStages = (plan: Plan): ReadonlyArray<JsonStage> =>
  plan.nodes.map((n) => ({
    name: n.node.name,
    stage: n.node.stage.name,
    key: n.key,
    status: n.status === "cached" ? "cached" : "will-run",
    ...(n.reason === undefined ? {} : { reason: n.reason }),
  }))

export const runStages = (outcomes: ReadonlyArray<NodeOutcome>): ReadonlyArray<JsonStage> =>
  outcomes.map((o) => ({
    name: o.name,
    stage: o.stage,
    key: o.key,
    status: o.status,
    durationMs: o.durationMs,
    ...(o.reason === undefined ? {} : { reason: o.reason }),
    ...(o.error === undefined ? {} : { error: o.error }),
  }))

/** A fixed-width table for human output. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? []
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n")
}

/**
 * The tensor backend for stages, selected on first use (a fully cached run
 * never loads tfjs) and announced on stderr; plus the runtime facts recorded
 * in manifests, which name that backend once it is selected.
 */
export const tensorServices = (io: CliIO, flag: string | undefined) => {
  let selected: BackendInfo | undefined
  // tfjs is imported only when a stage first needs it.
  const layer: Layer.Layer<TensorBackend, unknown> = Layer.unwrap(
    Effect.promise(() => import("../backend/TensorBackend.ts")).pipe(
      Effect.map(({ describeBackend, selectBackend, TensorBackend }) =>
        Layer.effect(
          TensorBackend,
          selectBackend({ flag, env: process.env.SSL_KD_BACKEND }).pipe(
            Effect.tap((info) =>
              Effect.sync(() => {
                selected = info
                io.err(describeBackend(info))
              }),
            ),
            Effect.map((info) => ({ info })),
          ),
        ),
      ),
    ),
  )
  const runtimeInfo: RuntimeInfoShape = {
    backend: () => (selected === undefined ? "none" : `${selected.name} ${selected.version} (${selected.detail})`),
    versions: defaultVersions(),
  }
  return { layer, runtimeInfo }
}

/** A stage's terminal summary (`Stage.summary`) and where its output files are. */
export interface StageSummary {
  readonly node: string
  readonly stage: string
  readonly payloadDir: string
  readonly text: string
}

/**
 * Summaries of the nodes whose stage declares one, read back from their
 * entries through the store (checksums checked), whether they ran or were
 * cached. An entry that cannot be read or decoded gives a line saying so
 * (`ssl-kd run` has the executor check these entries, recomputing corrupt
 * ones, so this only happens when one is damaged after the run).
 */
export const stageSummaries = (
  cacheDir: string,
  pipeline: Pipeline<any>,
  outcomes: ReadonlyArray<NodeOutcome>,
): Effect.Effect<ReadonlyArray<StageSummary>> =>
  Effect.gen(function* () {
    const store = makeFileStore(cacheDir)
    const out: Array<StageSummary> = []
    for (const o of outcomes) {
      const node = pipeline.nodes.find((n) => n.name === o.name)
      if (node?.stage.summary === undefined || o.status === "failed") continue
      const payloadDir = path.join(store.entryDir(o.key), "payload")
      const relative = path.relative(process.cwd(), payloadDir)
      const shown = relative.startsWith("..") ? payloadDir : relative
      // Never skip silently: a summary that cannot be read says why.
      const unavailable = (why: string) => out.push({ node: o.name, stage: node.stage.name, payloadDir: shown, text: `(summary unavailable: ${why}; run again to recompute it)` })
      const found = yield* Effect.result(store.lookup(o.key, "size"))
      if (found._tag === "Failure") {
        unavailable(found.failure.message)
        continue
      }
      if (found.success._tag !== "Hit") {
        unavailable(found.success._tag === "Corrupt" ? `entry corrupt (${found.success.reason})` : "entry missing")
        continue
      }
      const files = yield* Effect.result(store.readPayload(found.success.manifest))
      if (files._tag === "Failure") {
        unavailable(files.failure._tag === "CorruptEntryError" ? `entry corrupt (${files.failure.reason})` : files.failure.message)
        continue
      }
      const value = yield* Effect.result(node.stage.output.decode(files.success))
      if (value._tag === "Failure") {
        unavailable(`entry does not decode (${value.failure.message})`)
        continue
      }
      const text = yield* Effect.sync(() => node.stage.summary?.(value.success) ?? "").pipe(Effect.orElseSucceed(() => ""))
      out.push({ node: o.name, stage: node.stage.name, payloadDir: shown, text })
    }
    return out
  })
