/**
 * The executor service: plans a pipeline (keys and cache status, without
 * running) and runs it. `layerLocal` runs against a file store, every stage
 * in this process, or fan-out items in worker threads when a run asks for
 * the pool (`RunOptions.pool`); with `remote`, stages run elsewhere (the
 * cluster executor of runtime/cluster/ builds this layer with one).
 *
 * @example
 * const report = yield* Executor.use((e) => e.run(pipeline, { preset: "smoke" }))
 */
import * as os from "node:os"
import * as path from "node:path"
import { Context, Effect, Exit, Layer } from "effect"
import type { Pipeline } from "../../dsl/Pipeline.ts"
import type { CorruptEntryError, NotAStoreError } from "../cache/errors.ts"
import { withRunMarker } from "../cache/lock.ts"
import { ArtifactStore, ensureStore } from "../cache/Store.ts"
import { storeAt, type RemoteStoreShape } from "../cache/remoteStore.ts"
import * as Fingerprint from "../fingerprint/Fingerprint.ts"
import { ProgressDisplay } from "../progress/Progress.ts"
import * as DatasetIdentityLayer from "./DatasetIdentity.ts"
import { adoptEntries, type AdoptReport } from "./adopt.ts"
import { executePlan } from "./execute.ts"
import type { BackendRequestData } from "./pool/protocol.ts"
import type { RemoteExecutor } from "./remote.ts"
import { makePlan, type Plan, type PlanError, type PlanOptions } from "./plan.ts"
import { entryMetrics, headline } from "./metrics.ts"
import { newRunId, writeRunRecord, type RunReport } from "../cache/runRecord.ts"

export interface RunOptions extends PlanOptions {
  /** Recorded in the run record. */
  readonly argv?: ReadonlyArray<string>
  /** Called with the plan before execution starts (e.g. to print it). */
  readonly onPlan?: (plan: Plan) => Effect.Effect<void>
  /** Services for stages besides `StageContext`, built lazily (see `ExecuteOptions`). */
  readonly stageServices?: Layer.Layer<any, any, never>
  /**
   * Run fan-out items in a pool of worker threads (see `ExecuteOptions.pool`),
   * as many as the executor's `workers` unless `workers` is given here.
   * Absent: every stage runs in this process.
   */
  /** Nodes whose values the caller reads after the run: checked, and recomputed when corrupt (see `ExecuteOptions.verifyNodes`). */
  readonly verifyNodes?: ReadonlyArray<string>
  readonly pool?: { readonly workers?: number; readonly tensorBackend?: BackendRequestData; readonly scope?: "fan-out" | "all" }
}

export interface ExecutorShape {
  readonly plan: (pipeline: Pipeline<any>, options?: PlanOptions) => Effect.Effect<Plan, PlanError>
  readonly run: (pipeline: Pipeline<any>, options?: RunOptions) => Effect.Effect<RunReport, PlanError | NotAStoreError>
  /** Entries of older code for the nodes that miss (`ssl-kd cache adopt`, adopt.ts). */
  readonly adopt: (
    pipeline: Pipeline<any>,
    options: PlanOptions & { readonly dryRun: boolean },
  ) => Effect.Effect<AdoptReport, PlanError | NotAStoreError | CorruptEntryError>
  readonly storeRoot: string
}

export class Executor extends Context.Service<Executor, ExecutorShape>()("ssl-kd/Executor") {}

export interface LocalOptions {
  readonly cacheDir: string
  /** Bound on concurrent fan-out items (default: CPU cores). */
  readonly workers?: number
  /** Run stages there instead (the cluster, runtime/cluster/); see `ExecuteOptions.remote`. */
  readonly remote?: RemoteExecutor
  /** The store behind `cacheDir` (`--remote-store`): the local store reads through to it (runtime/cache/remoteStore.ts). */
  readonly remoteStore?: RemoteStoreShape
}

const make = (options: LocalOptions) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<ArtifactStore | Fingerprint.Fingerprinter | DatasetIdentityLayer.DatasetIdentity | ProgressDisplay>()
    const store = yield* ArtifactStore
    const progress = yield* ProgressDisplay
    const workers = Math.max(1, options.workers ?? os.availableParallelism())
    const plan: ExecutorShape["plan"] = (pipeline, planOptions = {}) => makePlan(pipeline, planOptions).pipe(Effect.provide(context))
    const run: ExecutorShape["run"] = (pipeline, runOptions = {}) =>
      Effect.gen(function* () {
        const startedAt = new Date()
        const p = yield* plan(pipeline, runOptions)
        if (runOptions.onPlan) yield* runOptions.onPlan(p)
        const runId = newRunId(pipeline.name)
        const configs = Object.fromEntries(p.nodes.map((n) => [n.node.name, n.canonicalConfig]))
        const record = (stages: RunReport["stages"], interrupted: boolean, metrics: RunReport["metrics"] = {}): RunReport => {
          const finishedAt = new Date()
          return {
            runId,
            pipeline: pipeline.name,
            preset: runOptions.preset ?? null,
            startedAt: startedAt.toISOString(),
            finishedAt: finishedAt.toISOString(),
            durationMs: finishedAt.getTime() - startedAt.getTime(),
            ok: !interrupted && stages.every((s) => s.status !== "failed"),
            interrupted,
            argv: runOptions.argv ?? [],
            stages,
            configs,
            metrics,
          }
        }
        // What finished before an interruption, in plan order: the interrupted run's record lists it.
        const finished: Array<RunReport["stages"][number]> = []
        const order = new Map(p.nodes.map((n, i) => [n.node.name, i]))
        const outcomes = yield* executePlan(p, {
          workers,
          ...(options.remote === undefined ? {} : { remote: options.remote }),
          onOutcome: (o) => void finished.push(o),
          ...(runOptions.verifyNodes === undefined ? {} : { verifyNodes: runOptions.verifyNodes }),
          ...(runOptions.stageServices === undefined ? {} : { stageServices: runOptions.stageServices }),
          ...(runOptions.pool === undefined
            ? {}
            : {
                pool: {
                  workers: Math.max(1, runOptions.pool.workers ?? workers),
                  ...(runOptions.pool.tensorBackend === undefined ? {} : { tensorBackend: runOptions.pool.tensorBackend }),
                  ...(runOptions.pool.scope === undefined ? {} : { scope: runOptions.pool.scope }),
                },
              }),
        }).pipe(
          Effect.provide(context),
          Effect.onExit((exit) =>
            Exit.isFailure(exit) ? writeRunRecord(store.root, record([...finished].sort((a, b) => order.get(a.name)! - order.get(b.name)!), true)).pipe(Effect.asVoid) : Effect.void,
          ),
        )
        const metrics: Record<string, Readonly<Record<string, number>>> = {}
        for (const o of outcomes) {
          if (o.status === "failed") continue
          const h = headline(yield* entryMetrics(store, o.key))
          if (Object.keys(h).length > 0) metrics[o.name] = h
        }
        const report = record(outcomes, false, metrics)
        yield* writeRunRecord(store.root, report)
        // the remote keeps the records of every machine's runs (its `cache gc` keeps what they used)
        if (store.remote !== undefined) yield* store.remote.recordRun(report)
        return report
      }).pipe(
        (body) =>
          withRunMarker(path.join(store.root, "locks"), `${pipeline.name}${runOptions.preset ? `:${runOptions.preset}` : ""}`, body, (holder) =>
            progress.log("store", `waiting for pid ${holder?.pid ?? "?"} (${holder?.purpose ?? "unknown"}) to finish with the store`),
          ),
        (guarded) => Effect.andThen(ensureStore(store.root, { create: true }), guarded),
      )
    const adopt: ExecutorShape["adopt"] = (pipeline, adoptOptions) =>
      Effect.andThen(
        ensureStore(store.root, { create: false }),
        Effect.flatMap(plan(pipeline, adoptOptions), (p) => adoptEntries(p, adoptOptions).pipe(Effect.provide(context))),
      )
    return { plan, run, adopt, storeRoot: store.root } satisfies ExecutorShape
  })

/** Everything local: file store at `cacheDir`, memoized fingerprints and dataset digests. */
export const layerLocal = (options: LocalOptions): Layer.Layer<Executor, never, ProgressDisplay> => {
  const root = path.resolve(options.cacheDir)
  const deps = Layer.mergeAll(
    Layer.succeed(ArtifactStore, storeAt(root, options.remoteStore)),
    Fingerprint.layer(path.join(root, "memo", "fingerprints.json")),
    DatasetIdentityLayer.layer(path.join(root, "memo", "digests.json")),
  )
  return Layer.effect(Executor, make(options)).pipe(Layer.provide(deps))
}
