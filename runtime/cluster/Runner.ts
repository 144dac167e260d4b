/**
 * `ssl-kd runner`: a long-running process that joins the cluster, hosts its
 * share of the stage workflows, and takes jobs from the durable queue of each
 * resource class it has slots for, at most that many at once. Each job runs in
 * this runner's worker pool (one tfjs engine per worker thread), after the
 * runner checked that its own code of the stage has the job's fingerprint; the
 * entry is committed to the shared store with the manifest written last (the
 * commit point, as runtime/cache/Store.ts does), its metrics beside it.
 *
 * The main thread never loads stage code: the check (import + ts-morph
 * fingerprint) runs in the stage-check thread (check/StageCheck.ts), the stage
 * in a pool worker, so the main thread's event loop keeps refreshing the
 * leases of the jobs this runner holds, however long they take to load.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Deferred, Duration, Effect, Layer, Option, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { DurableQueue } from "effect/workflow"
import { storeAt, type RemoteStoreShape } from "../cache/remoteStore.ts"
import { remoteFolderOf } from "../executor/pool/jobStore.ts"
import { ensureStore } from "../cache/marker.ts"
import type { BackendRequestData } from "../executor/pool/protocol.ts"
import { makeWorkerPool } from "../executor/pool/WorkerPool.ts"
import { metricsSidecar, type MetricRecord } from "../executor/metrics.ts"
import type { ManifestTemplate } from "../executor/remote.ts"
import { defaultVersions } from "../executor/RuntimeInfo.ts"
import { makeStageCheck } from "./check/StageCheck.ts"
import { engineLayer, queueLayer } from "./internal/layers.ts"
import { appendStageLog, HEARTBEAT_MS, keysRunElsewhere, registerRunner, type RunningStage } from "./internal/registry.ts"
import { fromProject } from "./paths.ts"
import { redactUrl } from "./url.ts"
import { type ResourceClass, type StageDone, type StageError, StageExecution, type StagePayload, StageQueues } from "./protocol.ts"

export interface RunnerOptions {
  readonly url: string
  /** Slots per resource class: how many jobs of that class run at once (0 or absent: none taken). */
  readonly slots: Readonly<Partial<Record<ResourceClass, number>>>
  /** The shared store (its own path on this machine), or with `remoteStore` this runner's local cache of it. */
  readonly storeRoot: string
  /** The shared store behind `storeRoot` (`--remote-store`): `storeRoot` reads through to it. */
  readonly remoteStore?: RemoteStoreShape
  /** The checkout stage modules are resolved against. */
  readonly projectRoot: string
  /** Where other participants reach this runner. */
  readonly host: string
  readonly port: number
  readonly leaseMs: number
  readonly tensorBackend?: BackendRequestData
  readonly log: (line: string) => void
}

/** The runner could not join or keep running (database unreachable, address taken, store unusable). */
export class RunnerFailed extends Data.TaggedError("RunnerFailed")<{ readonly reason: string }> {
  override get message() {
    return `the runner stopped: ${this.reason}`
  }
}

const describe = (e: unknown): string =>
  e !== null && typeof e === "object" && "message" in e ? `${"_tag" in e ? `${String(e._tag)}: ` : ""}${String(e.message)}` : String(e)

/** Runs until interrupted. */
export const runRunner = (options: RunnerOptions): Effect.Effect<never, RunnerFailed> =>
  Effect.gen(function* () {
    const runnerName = `${os.hostname()}:${options.port} (pid ${process.pid})`
    const store = storeAt(options.storeRoot, options.remoteStore)
    yield* ensureStore(store.root, { create: true })
    const check = yield* Effect.acquireRelease(
      Effect.sync(() =>
        makeStageCheck({
          memoFile: path.join(store.root, "memo", `fingerprints-runner-${os.hostname()}.json`),
          digestsFile: path.join(store.root, "memo", `digests-runner-${os.hostname()}.json`),
        }),
      ),
      (c) => c.shutdown,
    )
    const total = (options.slots.cpu ?? 0) + (options.slots.gpu ?? 0)
    const pool = yield* makeWorkerPool({ workers: Math.max(1, total), ...(options.tensorBackend === undefined ? {} : { tensorBackend: options.tensorBackend }), scope: "all" })
    yield* Effect.addFinalizer(() => pool.shutdown)
    // Start the workers now: their start-up (tsx, the tensor backend) is not paid by the first jobs.
    yield* pool.prewarmWorkers(Math.max(1, total))

    /** The stages this runner is running now, by key (for its row in the registry: `ssl-kd cluster status`). */
    const running = new Map<string, RunningStage>()
    /** Writes this runner's registry row now (set once the registry is up). */
    let refreshRegistry = (): void => undefined
    /**
     * Per running key, completed with the reason when this runner's attempt must stop: its lease lapsed (another
     * runner reports the key running) or the database was out of reach for longer than the lease. The watchdog
     * (below) decides; the attempt then stops instead of going on writing the stage's scratch beside the new one.
     */
    const leaseLost = new Map<string, Deferred.Deferred<string>>()

    const refuse = (errorTag: string, detail: string): StageError => ({ _tag: "StageError", errorTag, detail, runner: runnerName })

    /**
     * A stopped (lapsed) attempt must not answer for the job: the queue completes the workflow with whatever its
     * handler returns, and the runner that took the job over answers it. So the stopped attempt waits for the
     * execution's outcome (the other runner's) and returns that.
     */
    const outcomeOfTakeover = (payload: StagePayload, stopped: StageError) =>
      Effect.gen(function* () {
        running.delete(payload.key) // no longer this runner's: `cluster status` shows the one that took it over
        refreshRegistry()
        options.log(`runner: ${payload.job.node} (${payload.key.slice(0, 12)}) stopped: ${stopped.detail}; waiting for the runner that took it over`)
        const id = yield* StageExecution.executionId(payload)
        while (true) {
          const result = yield* StageExecution.poll(id)
          if (Option.isSome(result) && result.value._tag === "Complete") {
            const exit = result.value.exit
            if (exit._tag === "Success") return exit.value
            return yield* Effect.failCause(exit.cause)
          }
          yield* Effect.sleep(Duration.millis(HEARTBEAT_MS))
        }
      })

    const execute = (payload: StagePayload) =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const job = payload.job
        const io = (e: { readonly message: string }) => refuse("StoreIOError", e.message)
        // An earlier attempt may have committed before its acknowledgement was lost: the entry stands (unless forced).
        const existing = yield* store.lookup(job.key, "full").pipe(Effect.mapError(io))
        if (existing._tag === "Hit" && payload.force !== true) {
          const t = existing.manifest.timings
          return { startedAt: t.startedAt, finishedAt: t.finishedAt, durationMs: t.durationMs, backend: existing.manifest.backend, runner: runnerName }
        }
        const moduleFile = yield* fromProject(options.projectRoot, job.stage.module, "stage module").pipe(Effect.mapError((e) => refuse(e._tag, e.message)))
        const preload: Array<string> = []
        for (const p of job.preload) preload.push(pathToFileURL(yield* fromProject(options.projectRoot, p, "plugin file").pipe(Effect.mapError((e) => refuse(e._tag, e.message)))).href)
        // Import and fingerprint the stage in the check thread: this thread keeps refreshing the leases meanwhile.
        const checked = yield* check
          .check({
            moduleFile,
            exportName: job.stage.exportName,
            stageName: job.stage.stageName,
            ...(payload.dataIdentity === undefined && payload.plugins === undefined ? {} : { config: JSON.parse(job.config) as unknown }),
            ...(payload.plugins === undefined ? {} : { preload }),
          })
          .pipe(Effect.mapError((e) => refuse(e.errorTag, `${e.detail} (checkout ${options.projectRoot}, runner ${runnerName})`)))
        if (checked.fingerprint !== payload.codeFingerprint) {
          return yield* Effect.fail(
            refuse(
              "CodeFingerprintMismatch",
              `runner ${runnerName} (checkout ${options.projectRoot}) has other code for stage ${job.stage.stageName}: fingerprint ${checked.fingerprint.slice(0, 12)}, the job was planned with ${payload.codeFingerprint.slice(0, 12)}; run the runner on the same commit`,
            ),
          )
        }
        if (payload.dataIdentity !== undefined && checked.data !== undefined && checked.data.identity !== payload.dataIdentity) {
          const short = (id: string | null) => (id === null ? "none (no files)" : id.slice(0, 12))
          return yield* Effect.fail(
            refuse(
              "DatasetMismatch",
              `runner ${runnerName} (checkout ${options.projectRoot}) has other data for stage ${job.stage.stageName}: its reads (${checked.data.reads.join(", ") || "none"}) hash to ${short(checked.data.identity)} here, the job was planned with ${short(payload.dataIdentity)}; give the runner the same files`,
            ),
          )
        }
        if (payload.plugins !== undefined && checked.plugins !== undefined) {
          const text = (ps: ReadonlyArray<{ what: string; name: string; code: string }>) => ps.map((p) => `${p.what} "${p.name}" ${p.code.slice(0, 12)}`).join(", ") || "none"
          const full = (ps: ReadonlyArray<{ what: string; name: string; code: string }>) => JSON.stringify(ps.map((p) => [p.what, p.name, p.code]))
          if (full(checked.plugins) !== full(payload.plugins)) {
            return yield* Effect.fail(
              refuse(
                "PluginFingerprintMismatch",
                `runner ${runnerName} (checkout ${options.projectRoot}) has other plugin code for stage ${job.stage.stageName}: ${text(checked.plugins)} here, the job was planned with ${text(payload.plugins)}; run the runner on the same commit`,
              ),
            )
          }
        }
        const address = { moduleUrl: checked.moduleUrl, exportName: job.stage.exportName, stageName: job.stage.stageName }
        const scratchDir = yield* store.prepareScratch(job.key).pipe(Effect.mapError(io))
        const records: Array<MetricRecord> = []
        options.log(`runner: ${job.node} (${job.key.slice(0, 12)}) started`)
        const started = new Date()
        const lost = leaseLost.get(payload.key)
        const result = yield* pool
          .runAt(
            address,
            { node: job.node, key: job.key, config: JSON.parse(job.config) as unknown, storeRoot: store.root, ...remoteFolderOf(store), inputs: job.inputs, scratchDir, preload },
            {
              // shown by the runs waiting on this stage: progress through the registry row (heartbeat), log lines through their table
              progress: (pr) =>
                Effect.sync(() => {
                  const now = running.get(payload.key)
                  if (now !== undefined) running.set(payload.key, { ...now, progress: { done: pr.done, total: pr.total, ...(pr.note === undefined ? {} : { note: pr.note }) } })
                }),
              log: (message) => Effect.andThen(Effect.sync(() => options.log(`runner: ${job.node}: ${message}`)), appendStageLog(job.key, message).pipe(Effect.provideService(SqlClient.SqlClient, sql))),
              metric: (record) => Effect.sync(() => void records.push(record)),
            },
          )
          .pipe(
            Effect.mapError((e) =>
              e._tag === "StageFailedInWorker" ? refuse(e.errorTag, e.detail) : e._tag === "WorkerOutputFailed" ? refuse("OutputError", e.detail) : refuse(e._tag, e.message),
            ),
            (work) => (lost === undefined ? work : Effect.raceFirst(work, Deferred.await(lost).pipe(Effect.flatMap((why) => Effect.fail(refuse("LeaseLost", why)))))),
          )
        if (result._tag === "Unavailable") return yield* Effect.fail(refuse("StageNotRunnable", `stage ${job.stage.stageName} cannot run in a worker of runner ${runnerName}: ${result.reason}`))
        const finished = new Date()
        const template = JSON.parse(payload.manifest) as ManifestTemplate
        const durationMs = finished.getTime() - started.getTime()
        const backend = result.backend ?? "none"
        yield* store
          .commit(
            {
              ...template,
              timings: { startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs },
              backend,
              versions: { ...defaultVersions(), ...template.versions },
            },
            result.files,
            { replace: payload.force === true, sidecars: metricsSidecar(records) },
          )
          .pipe(Effect.mapError(io))
        yield* Effect.promise(() => fs.rm(store.scratchDir(job.key), { recursive: true, force: true }))
        options.log(`runner: ${job.node} (${job.key.slice(0, 12)}) ran in ${durationMs} ms`)
        return { startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs, backend, runner: runnerName }
      }).pipe(
        Effect.tapError((e) => Effect.sync(() => options.log(`runner: ${payload.job.node} (${payload.key.slice(0, 12)}) failed: ${e.errorTag}: ${e.detail}`))),
        Effect.catchIf((e): e is StageError => e.errorTag === "LeaseLost", (e) => outcomeOfTakeover(payload, e)),
        Effect.ensuring(
          Effect.sync(() => {
            running.delete(payload.key)
            leaseLost.delete(payload.key)
            refreshRegistry()
          }),
        ),
        Effect.onInterrupt(() => Effect.sync(() => options.log(`runner: ${payload.job.node} (${payload.key.slice(0, 12)}) interrupted (its job goes back to the queue)`))),
        (run) =>
          Effect.andThen(
            Effect.gen(function* () {
              leaseLost.set(payload.key, yield* Deferred.make<string>())
              running.set(payload.key, { node: payload.job.node, key: payload.key, resource: payload.resource, startedAt: new Date().toISOString() })
              refreshRegistry()
            }),
            run,
          ),
      )

    const workers = (["cpu", "gpu"] as const)
      .filter((r) => (options.slots[r] ?? 0) > 0)
      .map((r) => DurableQueue.worker(StageQueues[r], execute, { concurrency: options.slots[r]! }))
    const workflow = StageExecution.toLayer((payload) => DurableQueue.process(StageQueues[payload.resource], payload))
    const address = `${options.host}:${options.port}`
    const registry = Layer.effectDiscard(
      Effect.gen(function* () {
        const row = yield* registerRunner({ address, name: runnerName, slots: options.slots, project: options.projectRoot, store: store.root }, () => [...running.values()])
        refreshRegistry = row.refresh
        // The watchdog: an attempt whose job another runner started later (the queue gave it away: the lease lapsed),
        // or every attempt once the database has been out of reach for longer than the lease, stops (LeaseLost).
        // Start times come from each runner's clock: skew must stay below the lease.
        const watch = Effect.gen(function* () {
          if (leaseLost.size === 0) return
          const elsewhere = yield* keysRunElsewhere(address).pipe(Effect.timeout(Duration.millis(HEARTBEAT_MS)), Effect.option)
          const cutOffMs = Date.now() - row.lastOkAt()
          for (const [key, lost] of leaseLost) {
            const mine = running.get(key)
            const node = mine?.node ?? key.slice(0, 12)
            // taken over: another runner started this key after this attempt did (a killed runner's row still lists what it ran before)
            const theirs = Option.isSome(elsewhere) ? elsewhere.value.get(key) : undefined
            if (theirs !== undefined && mine !== undefined && theirs > Date.parse(mine.startedAt)) {
              yield* Deferred.succeed(lost, `runner ${runnerName} stopped its attempt at ${node}: another runner took the job after this runner's lease of ${options.leaseMs / 1000} s lapsed`)
            } else if (cutOffMs > options.leaseMs) {
              yield* Deferred.succeed(lost, `runner ${runnerName} stopped its attempt at ${node}: the database was out of reach for ${(cutOffMs / 1000).toFixed(0)} s, longer than the lease of ${options.leaseMs / 1000} s`)
            }
          }
        })
        yield* watch.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(Duration.millis(HEARTBEAT_MS))), Effect.forkScoped)
      }),
    )
    const app = Layer.mergeAll(workflow, registry, ...workers).pipe(
      Layer.provide(queueLayer(options.leaseMs)),
      Layer.provideMerge(engineLayer({ url: options.url, runner: { host: options.host, port: options.port }, leaseMs: options.leaseMs })),
    )
    options.log(`runner ${runnerName}: joining ${redactUrl(options.url)} with slots ${Object.entries(options.slots).map(([k, v]) => `${k}=${v}`).join(",")}, store ${store.root}, project ${options.projectRoot}`)
    return yield* Layer.launch(app)
  }).pipe(
    Effect.scoped,
    Effect.mapError((e) => new RunnerFailed({ reason: describe(e) })),
  )
