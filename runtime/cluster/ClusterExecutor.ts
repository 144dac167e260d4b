/**
 * The cluster executor: the local executor (runtime/executor/Executor.ts)
 * with a remote side that sends each stage that runs to the cluster as one
 * durable `StageExecution` workflow keyed by its cache key. This process
 * joins client-only (it hosts no work); runners (`ssl-kd runner`) run the
 * jobs and commit the entries to the shared store, which this process then
 * reads like cached ones. Each job goes to the queue of its stage's declared
 * resource class (`Stage.make({ resource })`: cpu by default, or gpu), which
 * only runners with a slot of that class take from.
 *
 * While a stage runs, this process shows its runner's progress reports and
 * log lines (read from the database every second, `stageNews`).
 *
 * A second submission of a key (another CLI, or this one restarted after a
 * crash) joins the execution in progress or gets its result. A failed
 * execution stays failed for its generation; the next run of the key starts
 * the next generation, so a later run retries it; a `--force`d stage also
 * skips the generations that succeeded, and its runner replaces the entry.
 */
import { fileURLToPath } from "node:url"
import { Context, Duration, Effect, Layer, Option, Schedule, Schema, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { WorkflowEngine } from "effect/workflow"
import type { AnyStage, Resource } from "../../dsl/Stage.ts"
import { Executor, layerLocal, type LocalOptions } from "../executor/Executor.ts"
import { locateStage } from "../executor/pool/locate.ts"
import { RemoteStageFailed, type RemoteExecutor } from "../executor/remote.ts"
import type { ProgressDisplay } from "../progress/Progress.ts"
import { engineLayer } from "./internal/layers.ts"
import { ensureRegistry, stageNews } from "./internal/registry.ts"
import { toProject } from "./paths.ts"
import { StageExecution, type StagePayload } from "./protocol.ts"
import { redactUrl } from "./url.ts"

export interface ClusterOptions extends LocalOptions {
  /** `postgres://user@host:port/db` */
  readonly url: string
  /** The checkout whose stage modules jobs name (relative to it). */
  readonly projectRoot: string
}

/**
 * Whether the execution of `payload` has completed and must not be joined: it failed (a later run retries
 * the stage), or, for a forced run, it completed at all (a forced stage is computed again).
 */
const doneBefore = (payload: StagePayload, forced: boolean) =>
  Effect.gen(function* () {
    const id = yield* StageExecution.executionId(payload)
    const result = yield* StageExecution.poll(id)
    return Option.isSome(result) && result.value._tag === "Complete" && (forced || result.value.exit._tag === "Failure")
  })

/** The stage's declared resource class for its (canonical, encoded) config; a declaration that throws is a typed failure. */
const resourceOf = (stage: AnyStage, config: unknown): Effect.Effect<Resource, string> =>
  Effect.try({
    try: () => stage.resource(Schema.decodeUnknownSync(stage.config)(config)),
    catch: (e) => `cannot tell the resource class of stage ${stage.name}: ${e instanceof Error ? e.message : String(e)}`,
  })

/** The remote side, over the cluster whose engine is in `context`. */
const makeRemote = (options: ClusterOptions, engine: WorkflowEngine.WorkflowEngine["Service"], sql: SqlClient.SqlClient): RemoteExecutor => ({
  description: `cluster ${redactUrl(options.url)}`,
  run: (request, hooks) =>
    Effect.gen(function* () {
      const { job, stage } = request
      const fail = (errorTag: string, detail: string) => new RemoteStageFailed({ node: job.node, errorTag, detail })
      const located = yield* locateStage(stage)
      if (located._tag === "NotPoolable") return yield* fail("StageNotRunnable", located.reason)
      const module = yield* toProject(options.projectRoot, fileURLToPath(located.address.moduleUrl), `the module of stage ${stage.name}`).pipe(
        Effect.mapError((e) => fail(e._tag, e.message)),
      )
      const preload: Array<string> = []
      for (const url of job.preload) preload.push(yield* toProject(options.projectRoot, fileURLToPath(url), "plugin file").pipe(Effect.mapError((e) => fail(e._tag, e.message))))
      const resource = yield* resourceOf(stage, job.config).pipe(Effect.mapError((detail) => fail("StageResourceInvalid", detail)))
      let payload: StagePayload = {
        key: job.key,
        generation: 0,
        resource,
        job: {
          node: job.node,
          key: job.key,
          stage: { module, exportName: located.address.exportName, stageName: stage.name },
          config: JSON.stringify(job.config),
          inputs: job.inputs,
          preload,
        },
        codeFingerprint: request.manifest.codeFingerprint,
        dataIdentity: request.manifest.datasetIdentity,
        plugins: (request.manifest.plugins ?? []).map((p) => ({ what: p.what, name: p.name, code: p.code })),
        manifest: JSON.stringify(request.manifest),
      }
      // Skip the generations that failed (this run retries the stage as the next one) and, when forced, every completed one.
      if (request.forced) payload = { ...payload, force: true }
      while (yield* doneBefore(payload, request.forced)) payload = { ...payload, generation: payload.generation + 1 }
      // While it runs, show what its runner reports: progress (the runner's registry row) and log lines.
      let seen = 0
      let shown = ""
      const relay = Effect.gen(function* () {
        const news = yield* stageNews(job.key, seen)
        for (const line of news.logs) yield* hooks.log(line.text)
        seen = news.logs.at(-1)?.seq ?? seen
        const pr = news.progress
        if (pr !== undefined && JSON.stringify(pr) !== shown) {
          shown = JSON.stringify(pr)
          yield* hooks.progress(pr)
        }
      }).pipe(Effect.ignore, Effect.provideService(SqlClient.SqlClient, sql))
      return yield* Effect.scoped(
        Effect.gen(function* () {
          yield* relay.pipe(Effect.repeat(Schedule.spaced(Duration.millis(NEWS_POLL_MS))), Effect.forkScoped)
          const done = yield* StageExecution.execute(payload).pipe(Effect.mapError((e) => fail(e.errorTag, `${e.detail} (on runner ${e.runner})`)))
          yield* relay // the last lines, written before the runner reported the stage done
          return done
        }),
      )
    }).pipe(Effect.provideService(WorkflowEngine.WorkflowEngine, engine)),
})

/** How often a clustered run reads the progress and log lines of its running stages. */
const NEWS_POLL_MS = 1000

/** The executor with every locatable stage run on the cluster at `options.url`. */
export const layerCluster = (options: ClusterOptions): Layer.Layer<Executor, never, ProgressDisplay> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const scope = yield* Scope.Scope
      const context = yield* Layer.buildWithScope(engineLayer({ url: options.url }), scope)
      const engine = Context.get(context, WorkflowEngine.WorkflowEngine)
      const sql = Context.get(context, SqlClient.SqlClient)
      yield* ensureRegistry.pipe(Effect.provideService(SqlClient.SqlClient, sql))
      return layerLocal({ ...options, remote: makeRemote(options, engine, sql) })
    }).pipe(Effect.orDie),
  )
