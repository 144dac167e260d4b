/**
 * Execution of a plan. Every node is a fiber that waits for its inputs:
 * independent stages run concurrently, fan-out items at most `concurrency`
 * at once. A failed stage fails its descendants (reported as `failed` with
 * an `UpstreamFailed` error); independent branches still finish, so their
 * entries are cached for the next run. Interruption (Ctrl-C) stops running
 * stages; their temp folders are removed and no entry is committed.
 *
 * Cached entries are read lazily, only when a stage that runs needs them,
 * and verified against their checksums; a corrupt entry found then is
 * quarantined and recomputed. Values are decoded in this process only for
 * stages that run here: a pooled stage's worker reads its inputs from the
 * store, and a pooled stage's output is committed as the worker encoded it,
 * so with every stage pooled this process holds no artifact (a ViT-B/16
 * teacher is 344 MB) beyond the commit of the stage that made it.
 */
import * as fs from "node:fs/promises"
import { pathToFileURL } from "node:url"
import { Cause, Context, Deferred, Effect, Exit, Layer, Scope, Semaphore } from "effect"
import type { ArtifactFile } from "../../dsl/Artifact.ts"
import { StageContext } from "../../dsl/StageContext.ts"
import type { Manifest } from "../cache/manifest.ts"
import { ArtifactStore } from "../cache/Store.ts"
import { ProgressDisplay } from "../progress/Progress.ts"
import { OutputError, StageFailed, UpstreamFailed } from "./errors.ts"
import type { Plan, PlannedNode } from "./plan.ts"
import { describeCause } from "./pool/protocol.ts"
import { makeWorkerPool, type PoolOptions } from "./pool/WorkerPool.ts"
import { locateStage } from "./pool/locate.ts"
import type { RemoteExecutor } from "./remote.ts"
import { type NodeTiming, RuntimeInfo, type RunFacts } from "./RuntimeInfo.ts"
import { type MetricRecord, metricsSidecar } from "./metrics.ts"
import { remoteFolderOf } from "./pool/jobStore.ts"
import { withPeakRss } from "./memory.ts"

import type { NodeOutcome, NodeStatus } from "../cache/runRecord.ts"
export type { NodeOutcome, NodeStatus }

export interface ExecuteOptions {
  /** Default bound for fan-out groups without their own `concurrency`. */
  readonly workers: number
  /** Called as each node finishes (ran, cached or failed): an interrupted run still records what it completed. */
  readonly onOutcome?: (outcome: NodeOutcome) => void
  /**
   * Services stages may require besides `StageContext` (e.g. the tensor
   * backend). Built once, lazily, when the first stage runs, so a fully
   * cached run never pays for them; released when execution ends.
   */
  readonly stageServices?: Layer.Layer<any, any, never>
  /**
   * Run fan-out items in worker threads (runtime/executor/pool/), one tfjs
   * engine per worker, at most `pool.workers` at once; their stages get
   * `StageContext` and, with `pool.tensorBackend`, a `TensorBackend` selected
   * in the worker (not `stageServices`). Absent: everything runs in-process.
   */
  readonly pool?: PoolOptions
  /**
   * Nodes whose values the caller reads after the run (e.g. for summaries):
   * when cached, their entries are read and checksummed during the run, and
   * a corrupt one is quarantined and recomputed, like any input.
   */
  readonly verifyNodes?: ReadonlyArray<string>
  /**
   * Run every stage that can be located (an exported top-level value) on a
   * remote executor (the cluster, runtime/cluster/), which commits the entry
   * to the shared store; stages that cannot be located run here. The remote
   * side de-duplicates executions by cache key, so no local key lock is taken.
   */
  readonly remote?: RemoteExecutor
}

type Failure = StageFailed | UpstreamFailed | OutputError

/** What a stage's run gave: its value (in-process), or its encoded files (from a pool worker). */
type Ran =
  | { readonly _tag: "InProcess"; readonly value: unknown }
  | { readonly _tag: "Pooled"; readonly files: ReadonlyArray<ArtifactFile>; readonly backend: string }
  | { readonly _tag: "OutputFailed"; readonly detail: string }

/** A node's entry once made sure of: its value when this process has it, or only stored (read where needed). */
type Ready = { readonly _tag: "Value"; readonly value: unknown } | { readonly _tag: "Stored" }
const stored: Ready = { _tag: "Stored" }

/** The nodes whose values a node reads. */
const inputNames = (p: PlannedNode): ReadonlyArray<string> =>
  Object.values(p.inputNodes).flatMap((from) => (typeof from === "string" ? [from] : from.map((i) => i.node)))

export const executePlan = (
  plan: Plan,
  options: ExecuteOptions,
): Effect.Effect<ReadonlyArray<NodeOutcome>, never, ArtifactStore | ProgressDisplay> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const progress = yield* ProgressDisplay
    const info = yield* RuntimeInfo
    const byName = new Map(plan.nodes.map((n) => [n.node.name, n]))
    // The pool's order: deeper waiting items first (a node's depth: the longest chain of inputs above it),
    // so a stage whose inputs just finished goes before independent ones queued from the start.
    const dependents = new Map<string, Array<string>>()
    for (const n of plan.nodes) {
      for (const dep of new Set(inputNames(n))) {
        const list = dependents.get(dep) ?? []
        list.push(n.node.name)
        dependents.set(dep, list)
      }
    }
    /** Nodes whose entries are made sure of (cached and checked, or computed and committed). */
    const ensured = new Set<string>()
    // When a pooled node ends: the depth of a dependent that will run in the pool next (its other inputs
    // are ready), for which the pool holds the freed worker a moment (it is submitted after the commit).
    const reserveFor = (name: string) => (): number | undefined => {
      let best: number | undefined
      for (const d of dependents.get(name) ?? []) {
        const n = byName.get(d)
        if (n === undefined || !inPool(n) || n.status === "cached" || ensured.has(d)) continue
        if (!inputNames(n).every((i) => i === name || ensured.has(i))) continue
        best = Math.max(best ?? 0, depthOf(d))
      }
      return best
    }
    const depths = new Map<string, number>()
    const depthOf = (name: string): number => {
      const known = depths.get(name)
      if (known !== undefined) return known
      const p = byName.get(name)
      const d = p === undefined ? 0 : Math.max(-1, ...inputNames(p).map(depthOf)) + 1
      depths.set(name, d)
      return d
    }
    const outcomes = new Map<string, Deferred.Deferred<NodeOutcome>>()
    const entries = new Map<string, Deferred.Deferred<Ready, Failure>>()
    const values = new Map<string, Deferred.Deferred<unknown, Failure>>()
    const results: Array<NodeOutcome> = []
    // Timings of cached entries (their manifests) and of the entries this run commits, for RunFacts.
    const runStartedAt = new Date().toISOString()
    const timings = new Map<string, NodeTiming>()
    for (const n of plan.nodes) if (n.manifest !== undefined) timings.set(n.node.name, { ...n.manifest.timings, backend: n.manifest.backend })
    const runFacts = (): RunFacts => ({
      pipeline: plan.pipeline.name,
      preset: plan.preset ?? null,
      startedAt: runStartedAt,
      workers: options.workers,
      pool: options.pool === undefined ? "none" : (options.pool.scope ?? "fan-out"),
      nodes: plan.nodes.map((n) => {
        const timing = timings.get(n.node.name)
        const adopted = n.status === "cached" ? n.manifest?.adoptedFrom?.computedWithCode : undefined
        return {
          node: n.node.name, stage: n.node.stage.name, config: n.canonicalConfig, status: n.status, deps: n.deps,
          ...(timing === undefined ? {} : { timing }),
          ...(adopted === undefined ? {} : { computedWithCode: adopted }),
        }
      }),
    })
    for (const n of plan.nodes) outcomes.set(n.node.name, yield* Deferred.make<NodeOutcome>())

    const scope = yield* Scope.make()
    const services = yield* Effect.cached(
      options.stageServices === undefined ? Effect.succeed(Context.empty()) : Layer.buildWithScope(options.stageServices, scope),
    )
    const pool = options.pool === undefined ? undefined : yield* makeWorkerPool(options.pool)
    const inPool = (n: PlannedNode): boolean => pool !== undefined && (n.node.group !== undefined || options.pool?.scope === "all")
    if (pool !== undefined) {
      yield* Scope.addFinalizer(scope, pool.shutdown)
      yield* pool.prewarm(plan.nodes.filter((n) => inPool(n) && n.status === "will-run").map((n) => n.node.stage))
    }
    if (progress.begin !== undefined) yield* progress.begin(plan.nodes.filter((n) => n.status === "will-run").length)
    // With a remote executor (the cluster), a group without its own `concurrency` submits all its items
    // at once: the runners' slots bound how many run, not this machine's cores (the pool keeps its own bound
    // for stages that fall back to this machine).
    const groupSemaphores = new Map<string, Semaphore.Semaphore>()
    for (const g of plan.pipeline.groups.values()) {
      const bound = g.concurrency ?? (options.remote === undefined ? options.workers : Number.MAX_SAFE_INTEGER)
      groupSemaphores.set(g.name, yield* Semaphore.make(Math.max(1, bound)))
    }

    // Stages that run in this process read their inputs' values here; pooled stages read theirs from the
    // store in their worker, so the values of their inputs are never decoded (nor kept) in this process.
    const readHere = new Set<string>()
    for (const n of plan.nodes) if (!inPool(n)) for (const dep of inputNames(n)) readHere.add(dep)

    const once = <A>(memo: Map<string, Deferred.Deferred<A, Failure>>, name: string, make: () => Effect.Effect<A, Failure>): Effect.Effect<A, Failure> =>
      Effect.gen(function* () {
        const existing = memo.get(name)
        if (existing !== undefined) return yield* Deferred.await(existing)
        const d = yield* Deferred.make<A, Failure>()
        memo.set(name, d)
        yield* Deferred.done(d, yield* Effect.exit(make()))
        return yield* Deferred.await(d)
      })

    // A node's entry, made sure of once and shared by every consumer: a cached one verified (decoded, when
    // a stage of this process will read it), or computed and committed.
    const ensure = (name: string): Effect.Effect<Ready, Failure> =>
      once(entries, name, () => loadOrCompute(byName.get(name)!).pipe(Effect.tap(() => Effect.sync(() => void ensured.add(name)))))

    // A node's value, decoded once, only for a stage that reads it in this process.
    const valueOf = (name: string): Effect.Effect<unknown, Failure> =>
      once(values, name, () =>
        Effect.gen(function* () {
          const r = yield* ensure(name)
          if (r._tag === "Value") return r.value
          const p = byName.get(name)!
          const found = yield* store.lookup(p.key, "size").pipe(Effect.mapError((e) => new OutputError({ node: name, detail: e.message })))
          if (found._tag !== "Hit") {
            return yield* new OutputError({ node: name, detail: `its entry ${p.key.slice(0, 12)} ${found._tag === "Miss" ? "is missing" : `is corrupt (${found.reason})`} after it was committed` })
          }
          return yield* decodeManifest(p, found.manifest).pipe(Effect.mapError(undecodable(p)))
        }),
      )

    const undecodable = (p: PlannedNode) => (e: { readonly message: string }) => new OutputError({ node: p.node.name, detail: `its entry does not decode: ${e.message}` })

    const ensureInputs = (p: PlannedNode): Effect.Effect<void, Failure> => Effect.forEach(inputNames(p), ensure, { discard: true })

    const inputValues = (p: PlannedNode): Effect.Effect<Record<string, unknown>, Failure> =>
      Effect.gen(function* () {
        const out: Record<string, unknown> = {}
        for (const [input, from] of Object.entries(p.inputNodes)) {
          if (typeof from === "string") out[input] = yield* valueOf(from)
          else {
            const items: Array<{ item: string; value: unknown }> = []
            for (const { item, node } of from) items.push({ item, value: yield* valueOf(node) })
            out[input] = items
          }
        }
        return out
      })

    const decodeManifest = (p: PlannedNode, manifest: Manifest) =>
      store.readPayload(manifest).pipe(Effect.flatMap((files) => p.node.stage.output.decode(files)))

    // An entry whose checksums were verified: its value when a stage of this process reads it, else only stored.
    const readyOf = (p: PlannedNode, manifest: Manifest) =>
      readHere.has(p.node.name) ? decodeManifest(p, manifest).pipe(Effect.map((value): Ready => ({ _tag: "Value", value }))) : Effect.succeed(stored)

    // What a manifest records of the planned node (the runner of a remote stage adds timings, backend and files).
    const manifestTemplate = (p: PlannedNode) => ({
      formatVersion: 1 as const,
      key: p.key,
      stage: p.node.stage.name,
      node: p.node.name,
      pipeline: plan.pipeline.name,
      output: p.node.stage.output.name,
      config: p.canonicalConfig,
      inputs: p.inputKeys,
      codeFingerprint: p.codeFingerprint,
      ...(p.plugins.length === 0 ? {} : { plugins: p.plugins }),
      datasetIdentity: p.datasetIdentity,
      reads: p.reads,
      versions: info.versions,
    })

    // A cached entry, checked: decoded when a stage of this process reads it, else its checksums verified.
    const verifyCached = (p: PlannedNode, manifest: Manifest): Effect.Effect<Ready, { readonly message: string }> =>
      readHere.has(p.node.name)
        ? readyOf(p, manifest)
        : store.lookup(p.key, "full").pipe(
            Effect.flatMap((found) =>
              found._tag === "Hit" ? Effect.succeed(stored) : Effect.fail({ message: found._tag === "Miss" ? "its entry vanished" : found.reason }),
            ),
          )

    // Cached node that is needed: check it; if it turns out corrupt, recompute it.
    const loadOrCompute = (p: PlannedNode): Effect.Effect<Ready, Failure> =>
      Effect.gen(function* () {
        if (p.status === "cached" && p.manifest !== undefined) {
          const loaded = yield* Effect.result(verifyCached(p, p.manifest))
          if (loaded._tag === "Success") return loaded.success
          yield* store.quarantine(p.key, loaded.failure.message).pipe(Effect.ignore)
          yield* progress.log(p.node.name, `cached entry unusable (${loaded.failure.message}); recomputing`)
          return yield* computeAnywhere(p, `corrupt cache entry (${loaded.failure.message})`)
        }
        return yield* computeAnywhere(p, p.reason)
      })

    // Remotely when a remote executor is given and the stage can be found there (exported), else here.
    const computeAnywhere = (p: PlannedNode, reason: string | undefined): Effect.Effect<Ready, Failure> =>
      Effect.gen(function* () {
        const remote = options.remote
        if (remote === undefined) return yield* compute(p, reason)
        const located = yield* locateStage(p.node.stage)
        if (located._tag === "Found") return yield* computeRemote(p, remote, reason)
        yield* progress.log(p.node.name, `running in this process, not on ${remote.description}: ${located.reason}`)
        return yield* compute(p, reason)
      })

    // Runs the stage; an in-process stage gets its inputs' values (`inputs`), a pooled one reads them from the store.
    const runStage = (p: PlannedNode, given: Record<string, unknown> | undefined, onWorkerStart: () => void): Effect.Effect<Ran, unknown> =>
      Effect.gen(function* () {
        const scratchDir = store.scratchDir(p.key)
        const records: Array<MetricRecord> = []
        metricBuffers.set(p.node.name, records)
        const ctx = StageContext.of({
          node: p.node.name,
          key: p.key,
          scratchDir,
          progress: (pr) => progress.progress(p.node.name, pr),
          log: (message) => progress.log(p.node.name, message),
          metric: (record) => Effect.sync(() => void records.push(record)),
        })
        yield* store.prepareScratch(p.key)
        if (pool !== undefined && inPool(p)) {
          const job = { node: p.node.name, key: p.key, config: p.canonicalConfig, storeRoot: store.root, ...remoteFolderOf(store), inputs: p.inputKeys, scratchDir, preload: p.pluginFiles.map((f) => pathToFileURL(f).href), run: runFacts() }
          const r = yield* pool.run(p.node.stage, job, { ...ctx, started: onWorkerStart, priority: depthOf(p.node.name), reserve: reserveFor(p.node.name) }).pipe(
            Effect.catchTag("WorkerOutputFailed", (e) => Effect.succeed({ _tag: "OutputFailed", detail: e.detail } as const)),
          )
          if (r._tag === "Done") return { _tag: "Pooled", files: r.files, backend: r.backend ?? "none" } satisfies Ran
          if (r._tag === "OutputFailed") return r satisfies Ran
          yield* ctx.log(`running in-process, not in a pool worker: ${r.reason}`)
        }
        const inputs = given ?? (yield* inputValues(p))
        // Stages may only require StageContext from the executor (see Stage.ServicesOf); the
        // pipeline's other services are provided by the caller's layer.
        const run: Effect.Effect<unknown, unknown, StageContext> = p.node.stage.run({ config: p.config, inputs })
        const context = yield* services
        const value = yield* run.pipe(Effect.provideService(StageContext, ctx), Effect.provideContext(context), Effect.provideService(RuntimeInfo, { ...info, run: runFacts }))
        return { _tag: "InProcess", value } satisfies Ran
      })

    // The files to commit, encoded here or by the pool worker (which checked that they decode), and
    // the value when this process has it: a pooled output is decoded here only if a stage here reads it.
    const outputOf = (p: PlannedNode, ran: Ran): Effect.Effect<{ ready: Ready; files: ReadonlyArray<ArtifactFile> }, OutputError> => {
      const output = p.node.stage.output
      if (ran._tag === "OutputFailed") return Effect.fail(new OutputError({ node: p.node.name, detail: ran.detail }))
      if (ran._tag === "InProcess") {
        return Effect.try({
          try: () => ({ ready: { _tag: "Value", value: ran.value } as const, files: output.encode(ran.value) }),
          catch: (e) => new OutputError({ node: p.node.name, detail: `encoding ${output.name} failed: ${String(e)}` }),
        })
      }
      return Effect.succeed({ ready: stored, files: ran.files })
    }

    const metricBuffers = new Map<string, Array<MetricRecord>>()
    const statusOverride = new Map<string, { status: NodeStatus; reason: string | undefined; durationMs: number }>()

    // Run the stage under the key's lock and commit its entry.
    const compute = (p: PlannedNode, reason: string | undefined): Effect.Effect<Ready, Failure> =>
      store
        .withKeyLock(
          p.key,
          `${plan.pipeline.name}:${p.node.name}`,
          Effect.gen(function* () {
            if (!plan.forced.has(p.node.name)) {
              const again = yield* store.lookup(p.key, "full")
              if (again._tag === "Hit") {
                const v = yield* Effect.result(readyOf(p, again.manifest))
                if (v._tag === "Success") {
                  statusOverride.set(p.node.name, { status: "cached", reason: "computed meanwhile by another run", durationMs: 0 })
                  return v.success
                }
              }
              if (again._tag !== "Miss") yield* store.quarantine(p.key, again._tag === "Corrupt" ? again.reason : "undecodable").pipe(Effect.ignore)
            }
            yield* ensureInputs(p)
            // An in-process stage's inputs are decoded before its clock starts; a pooled one's are read by its worker.
            const inputs = inPool(p) ? undefined : yield* inputValues(p)
            // A pooled stage's clock restarts when a worker takes it: its time excludes the wait for a free one.
            let started = new Date()
            yield* progress.started(p.node.name, reason ?? "")
            const exit = yield* Effect.exit(withPeakRss(runStage(p, inputs, () => void (started = new Date()))))
            const finished = new Date()
            const durationMs = finished.getTime() - started.getTime()
            if (Exit.isFailure(exit)) {
              if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
              const { tag, detail } = describeCause(exit.cause)
              yield* progress.finished(p.node.name, "failed", durationMs, `${tag}: ${detail}`)
              return yield* new StageFailed({ node: p.node.name, stage: p.node.stage.name, errorTag: tag, detail })
            }
            const [ran, peakRssBytes] = exit.value
            const backend = ran._tag === "Pooled" ? ran.backend : info.backend()
            const { ready, files } = yield* outputOf(p, ran)
            yield* store.commit(
              {
                ...manifestTemplate(p),
                timings: { startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs, peakRssBytes },
                backend,
              },
              files,
              // Metrics go beside the manifest (not in the payload), in the same commit.
              { replace: plan.forced.has(p.node.name), sidecars: metricsSidecar(metricBuffers.get(p.node.name) ?? []) },
            )
            timings.set(p.node.name, { startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs, peakRssBytes, backend })
            yield* Effect.promise(() => fs.rm(store.scratchDir(p.key), { recursive: true, force: true }))
            statusOverride.set(p.node.name, { status: "ran", reason, durationMs })
            yield* progress.finished(p.node.name, "ran", durationMs)
            return ready
          }),
          (owner) => progress.log(p.node.name, `waiting for another run (pid ${owner?.pid ?? "?"}) computing the same entry`),
        )
        .pipe(
          Effect.mapError((e): Failure => (e._tag === "StoreIOError" ? new OutputError({ node: p.node.name, detail: e.message }) : e)),
        )

    // Run the stage remotely: the runner commits the entry; this process then makes sure of it.
    const computeRemote = (p: PlannedNode, remote: RemoteExecutor, reason: string | undefined): Effect.Effect<Ready, Failure> =>
      Effect.gen(function* () {
        if (!plan.forced.has(p.node.name)) {
          const again = yield* store.lookup(p.key, "full")
          if (again._tag === "Hit") {
            statusOverride.set(p.node.name, { status: "cached", reason: "computed meanwhile by another run", durationMs: 0 })
            return yield* readyOf(p, again.manifest).pipe(Effect.mapError(undecodable(p)))
          }
          if (again._tag === "Corrupt") yield* store.quarantine(p.key, again.reason).pipe(Effect.ignore)
        }
        yield* ensureInputs(p)
        yield* progress.started(p.node.name, reason ?? "")
        const records: Array<MetricRecord> = []
        metricBuffers.set(p.node.name, records)
        const job = { node: p.node.name, key: p.key, config: p.canonicalConfig, storeRoot: store.root, ...remoteFolderOf(store), inputs: p.inputKeys, scratchDir: store.scratchDir(p.key), preload: p.pluginFiles.map((f) => pathToFileURL(f).href) }
        const manifest = manifestTemplate(p)
        const started = Date.now()
        const done = yield* remote
          .run(
            { stage: p.node.stage, job, manifest, forced: plan.forced.has(p.node.name) },
            {
              progress: (pr) => progress.progress(p.node.name, pr),
              log: (message) => progress.log(p.node.name, message),
              metric: (record) => Effect.sync(() => void records.push(record)),
            },
          )
          .pipe(
            Effect.tapError((e) => progress.finished(p.node.name, "failed", Date.now() - started, e.message)),
            Effect.mapError((e) => new StageFailed({ node: p.node.name, stage: p.node.stage.name, errorTag: e.errorTag, detail: e.detail })),
          )
        const found = yield* store.lookup(p.key, "size").pipe(Effect.mapError((e) => new OutputError({ node: p.node.name, detail: e.message })))
        if (found._tag !== "Hit") {
          return yield* new OutputError({ node: p.node.name, detail: `runner ${done.runner} reported its entry ${p.key.slice(0, 12)} committed, but it ${found._tag === "Miss" ? "is missing" : `is corrupt (${found.reason})`} in the shared store ${store.root}` })
        }
        timings.set(p.node.name, { startedAt: done.startedAt, finishedAt: done.finishedAt, durationMs: done.durationMs, backend: done.backend })
        statusOverride.set(p.node.name, { status: "ran", reason, durationMs: done.durationMs })
        yield* progress.finished(p.node.name, "ran", done.durationMs)
        return yield* readyOf(p, found.manifest).pipe(Effect.mapError(undecodable(p)))
      }).pipe(Effect.mapError((e): Failure => (e._tag === "StoreIOError" ? new OutputError({ node: p.node.name, detail: e.message }) : e)))

    const runNode = (p: PlannedNode) =>
      Effect.gen(function* () {
        const name = p.node.name
        let upstreamFailure: string | undefined
        for (const dep of p.deps) {
          const o = yield* Deferred.await(outcomes.get(dep)!)
          if (o.status === "failed" && upstreamFailure === undefined) upstreamFailure = dep
        }
        const finish = (o: NodeOutcome) =>
          Effect.andThen(
            Deferred.succeed(outcomes.get(name)!, o),
            Effect.sync(() => {
              results.push(o)
              options.onOutcome?.(o)
            }),
          )
        const base = { name, stage: p.node.stage.name, key: p.key }
        if (upstreamFailure !== undefined) {
          const err = new UpstreamFailed({ node: name, upstream: upstreamFailure })
          yield* progress.finished(name, "failed", 0, err.message)
          return yield* finish({ ...base, status: "failed", durationMs: 0, reason: undefined, error: { _tag: err._tag, message: err.message } })
        }
        const mustRead = options.verifyNodes?.includes(name) === true
        if (!mustRead && p.status === "cached" && !p.deps.some((d) => statusOverride.get(d)?.status === "ran" && plan.forced.has(d))) {
          yield* progress.finished(name, "cached", 0)
          return yield* finish({ ...base, status: "cached", durationMs: 0, reason: "cache hit", error: undefined })
        }
        const sem = p.node.group === undefined ? undefined : groupSemaphores.get(p.node.group.name)
        const work = Effect.exit(ensure(name))
        const exit = yield* sem === undefined ? work : Semaphore.withPermits(sem, 1)(work)
        const s = statusOverride.get(name)
        if (Exit.isSuccess(exit)) {
          if (s === undefined && p.status === "cached") {
            yield* progress.finished(name, "cached", 0)
            return yield* finish({ ...base, status: "cached", durationMs: 0, reason: "cache hit", error: undefined })
          }
          return yield* finish({ ...base, status: s?.status ?? "ran", durationMs: s?.durationMs ?? 0, reason: s?.reason ?? p.reason, error: undefined })
        }
        const failure = Cause.squash(exit.cause) as Failure
        return yield* finish({
          ...base,
          status: "failed",
          durationMs: s?.durationMs ?? 0,
          reason: p.reason,
          error: { _tag: failure._tag ?? "Error", message: failure.message ?? String(failure) },
        })
      })

    yield* Effect.forEach(plan.nodes, runNode, { concurrency: "unbounded", discard: true }).pipe(
      Effect.ensuring(Scope.close(scope, Exit.void)),
    )
    yield* progress.close
    const order = new Map(plan.nodes.map((n, i) => [n.node.name, i]))
    // A node first served from the cache may have been recomputed later, when a
    // consumer found its entry corrupt: report what actually happened.
    const final = results.map((o) => {
      const s = statusOverride.get(o.name)
      return o.status === "cached" && s?.status === "ran" ? { ...o, status: "ran" as const, durationMs: s.durationMs, reason: s.reason } : o
    })
    return final.sort((a, b) => order.get(a.name)! - order.get(b.name)!)
  })

