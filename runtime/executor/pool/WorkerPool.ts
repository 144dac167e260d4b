/**
 * A pool of worker threads for fan-out items (DESIGN.md: "fan-out stages run
 * in a worker pool, one tfjs instance per worker"). tfjs-wasm in Node is
 * single-threaded, so fan-out items only run in parallel in separate threads.
 *
 * Workers are spawned lazily, at most `workers` at once, reused across items,
 * and terminated when the pool shuts down (the executor's scope closes). A
 * worker runs one item at a time: it imports the stage's module, reads its
 * inputs from the store, runs it, and sends back the encoded output's bytes
 * (transferred, not copied). The executor commits the entry, as for
 * in-process stages. An interrupted item's worker is asked to interrupt the
 * stage (its finalizers run), then terminated; it is never reused.
 *
 * A stage that is not an exported top-level value of its module (or whose
 * module does not load in a worker) cannot run here: `run` answers
 * `Unavailable` with the reason, and the executor runs it in-process.
 */
import { Worker } from "node:worker_threads"
import { Effect, Exit, Queue } from "effect"
import { makePriorityGate } from "./priorityGate.ts"
import type { AnyStage } from "../../../dsl/Stage.ts"
import type { MetricRecord, Progress } from "../../../dsl/StageContext.ts"
import { StageFailedInWorker, WorkerCrashed, WorkerOutputFailed } from "./errors.ts"
import { locateStage } from "./locate.ts"
import type { BackendRequestData, FromWorker, Job, OutputFile, StageAddress, WorkerInit } from "./protocol.ts"

export interface PoolOptions {
  /** Most workers alive (and items running in them) at once. */
  readonly workers: number
  /**
   * When set, every worker provides `TensorBackend` to its stages, selected
   * with this request (`--backend` flag, `SSL_KD_BACKEND`) in its own tfjs
   * engine, as the main process would. When absent, stages in workers get
   * only `StageContext`.
   */
  readonly tensorBackend?: BackendRequestData
  /** How long an interrupted stage may take to stop before its worker is terminated anyway. */
  readonly interruptGraceMs?: number
  /**
   * Which stages run in workers: `fan-out` (default), the items of fan-out
   * groups; `all`, every stage that runs (independent stages then use the
   * cores in parallel too, e.g. two teachers pretraining on a single-threaded
   * backend).
   */
  readonly scope?: "fan-out" | "all"
}

export interface ItemHooks {
  readonly progress: (p: Progress) => Effect.Effect<void>
  readonly log: (message: string) => Effect.Effect<void>
  readonly metric?: ((record: MetricRecord) => Effect.Effect<void>) | undefined
  /** Called when a worker takes the item, after any wait for a free one (the stage's clock starts here). */
  readonly started?: (() => void) | undefined
  /** Items waiting for a free worker go highest priority first (the executor gives the node's depth: downstream first), then in arrival order. */
  readonly priority?: number | undefined
  /** Asked when the item ends well: the priority of a dependent about to be submitted, for which its worker is held a moment (priorityGate.ts). */
  readonly reserve?: (() => number | undefined) | undefined
}

export type ItemResult =
  | {
      readonly _tag: "Done"
      readonly files: ReadonlyArray<OutputFile>
      /** The backend the worker's stage ran on (`name version (detail)`), if it selected one. */
      readonly backend: string | undefined
      readonly threadId: number
    }
  | { readonly _tag: "Unavailable"; readonly reason: string }

export type ItemError = StageFailedInWorker | WorkerOutputFailed | WorkerCrashed

/** What the executor gives the pool for one item; the pool adds where the stage is. */
export type ItemJob = Omit<Job, "stage">

export interface WorkerPool {
  readonly run: (stage: AnyStage, job: ItemJob, hooks: ItemHooks) => Effect.Effect<ItemResult, ItemError>
  /**
   * Run the stage at `address` without importing it in this thread (a
   * cluster runner, whose main thread never loads stage code: it keeps
   * refreshing job leases while stages load and run elsewhere).
   */
  readonly runAt: (address: StageAddress, job: ItemJob, hooks: ItemHooks) => Effect.Effect<ItemResult, ItemError>
  /**
   * Start workers now for items that will run later (one per item that can
   * run in a worker, at most `workers`), so that their start-up (tsx, the
   * stage's modules, the tensor backend) overlaps upstream stages.
   */
  readonly prewarm: (stages: ReadonlyArray<AnyStage>) => Effect.Effect<void>
  /** Start up to `count` workers now (at most `workers` alive), whatever will run in them (a cluster runner, at start). */
  readonly prewarmWorkers: (count: number) => Effect.Effect<void>
  /** Terminates every worker; later `run`s fail. */
  readonly shutdown: Effect.Effect<void>
}

const ENTRY = new URL("./worker.mjs", import.meta.url)

/** Workers of every pool in this process that have not exited yet (for tests and diagnostics). */
const live = new Set<Worker>()
export const liveWorkerCount = (): number => live.size

type JobMessage = Exclude<FromWorker, { readonly type: "ready" }>
type Event = { readonly kind: "message"; readonly msg: JobMessage } | { readonly kind: "error"; readonly error: unknown } | { readonly kind: "exit"; readonly code: number }

interface Slot {
  readonly worker: Worker
  readonly threadId: number
  /** Its main has loaded (a failure before that means workers cannot start here at all). */
  ready: boolean
  dead: boolean
  /** Receives the worker's events while an item (or its stopping) listens. */
  listener: ((e: Event) => void) | undefined
}

const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e))

export const makeWorkerPool = (options: PoolOptions): Effect.Effect<WorkerPool> =>
  Effect.gen(function* () {
    const gate = makePriorityGate(options.workers)
    const grace = options.interruptGraceMs ?? 1500
    const idle: Array<Slot> = []
    const slots = new Set<Slot>()
    const unavailable = new Map<string, string>()
    /** Set when a worker failed before its main loaded: every later item runs in-process. */
    let broken: string | undefined
    let nextId = 1
    let closed = false

    const spawn = (): Slot => {
      const worker = new Worker(ENTRY, { workerData: { backend: options.tensorBackend } satisfies WorkerInit })
      const slot: Slot = { worker, threadId: worker.threadId, ready: false, dead: false, listener: undefined }
      live.add(worker)
      slots.add(slot)
      worker.on("message", (msg: FromWorker) => {
        if (msg.type === "ready") slot.ready = true
        else slot.listener?.({ kind: "message", msg })
      })
      worker.on("error", (error) => {
        slot.dead = true
        slot.listener?.({ kind: "error", error })
      })
      worker.on("exit", (code) => {
        slot.dead = true
        live.delete(worker)
        slots.delete(slot)
        const i = idle.indexOf(slot)
        if (i >= 0) idle.splice(i, 1)
        slot.listener?.({ kind: "exit", code })
      })
      return slot
    }

    const terminate = (slot: Slot): Promise<void> =>
      slot.worker.terminate().then(
        () => undefined,
        () => undefined,
      ).finally(() => {
        slot.dead = true
        live.delete(slot.worker)
        slots.delete(slot)
      })

    /** Ask the worker to interrupt item `id`, wait up to the grace period, then terminate it. */
    const stop = (slot: Slot, id: number | undefined): Promise<void> => {
      if (slot.dead || id === undefined) return terminate(slot)
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, grace)
        slot.listener = (e) => {
          if (e.kind !== "message" || (e.msg.id === id && e.msg.type !== "progress" && e.msg.type !== "log" && e.msg.type !== "metric")) {
            clearTimeout(timer)
            resolve()
          }
        }
        try {
          slot.worker.postMessage({ type: "interrupt", id })
        } catch {
          clearTimeout(timer)
          resolve()
        }
      }).then(() => terminate(slot))
    }

    const talk = (slot: Slot, id: number, job: Job, hooks: ItemHooks) =>
      Effect.gen(function* () {
        const events = yield* Queue.unbounded<Event>()
        slot.listener = (e) => void Queue.offerUnsafe(events, e)
        slot.worker.ref()
        const sent = yield* Effect.try({ try: () => slot.worker.postMessage({ type: "run", id, job }), catch: errorText }).pipe(Effect.result)
        if (sent._tag === "Failure") return { _tag: "Unavailable", reason: `its job cannot be sent to a worker (${sent.failure})` } satisfies ItemResult
        while (true) {
          const e = yield* Queue.take(events)
          if (e.kind !== "message" && !slot.ready) {
            broken = `pool workers do not start (${e.kind === "error" ? errorText(e.error) : `exit code ${e.code}`})`
            return { _tag: "Unavailable", reason: broken } satisfies ItemResult
          }
          if (e.kind === "error") return yield* new WorkerCrashed({ node: job.node, detail: errorText(e.error) })
          if (e.kind === "exit") return yield* new WorkerCrashed({ node: job.node, detail: `it exited with code ${e.code}` })
          const msg = e.msg
          if (msg.id !== id) continue
          switch (msg.type) {
            case "progress":
              yield* hooks.progress(msg.progress)
              break
            case "log":
              yield* hooks.log(msg.message)
              break
            case "metric":
              if (hooks.metric !== undefined) yield* hooks.metric(msg.record)
              break
            case "done":
              return { _tag: "Done", files: msg.files, backend: msg.backend, threadId: slot.threadId } satisfies ItemResult
            case "unavailable":
              return { _tag: "Unavailable", reason: msg.reason } satisfies ItemResult
            case "failed":
              return yield* msg.phase === "output"
                ? new WorkerOutputFailed({ node: job.node, detail: msg.message })
                : new StageFailedInWorker({ node: job.node, errorTag: msg.errorTag, detail: msg.message })
            case "interrupted":
              return yield* new WorkerCrashed({ node: job.node, detail: "it interrupted the stage unasked" })
          }
        }
      })

    const inWorker = (job: Job, hooks: ItemHooks): Effect.Effect<ItemResult, ItemError> => {
      let id: number | undefined
      return gate.withPermit(
        hooks.priority ?? 0,
        Effect.acquireUseRelease(
          Effect.try({
            try: () => {
              if (closed) throw new Error("the worker pool is shut down")
              return idle.pop() ?? spawn()
            },
            catch: (e) => new WorkerCrashed({ node: job.node, detail: `no worker could be started (${errorText(e)})` }),
          }),
          (slot) => {
            id = nextId++
            hooks.started?.()
            return talk(slot, id, job, hooks)
          },
          (slot, exit) =>
            Effect.promise(() => {
              const reusable =
                !slot.dead &&
                !closed &&
                (Exit.isSuccess(exit) || exit.cause.reasons.every((r) => r._tag === "Fail" && r.error._tag !== "WorkerCrashed"))
              if (reusable) {
                slot.listener = undefined
                slot.worker.unref()
                idle.push(slot)
                return Promise.resolve()
              }
              const interrupted = Exit.isFailure(exit) && exit.cause.reasons.some((r) => r._tag === "Interrupt")
              return stop(slot, interrupted ? id : undefined)
            }),
        ),
        hooks.reserve,
      )
    }

    const runAt: WorkerPool["runAt"] = (address, item, hooks) =>
      Effect.gen(function* () {
        if (broken !== undefined) return { _tag: "Unavailable", reason: broken } satisfies ItemResult
        const where = `${address.moduleUrl}#${address.exportName}`
        const known = unavailable.get(where)
        if (known !== undefined) return { _tag: "Unavailable", reason: known } satisfies ItemResult
        const result = yield* inWorker({ ...item, stage: address }, hooks)
        if (result._tag === "Unavailable") unavailable.set(where, result.reason)
        return result
      })

    const run: WorkerPool["run"] = (stage, item, hooks) =>
      Effect.gen(function* () {
        const located = yield* locateStage(stage)
        if (located._tag === "NotPoolable") return { _tag: "Unavailable", reason: located.reason } satisfies ItemResult
        return yield* runAt(located.address, item, hooks)
      })

    const prewarmWorkers: WorkerPool["prewarmWorkers"] = (count) =>
      Effect.sync(() => {
        const want = Math.min(count, Math.max(1, options.workers)) - slots.size
        for (let i = 0; i < want && !closed; i++) {
          try {
            const slot = spawn()
            slot.worker.unref()
            idle.push(slot)
          } catch {
            return // `run` will try again and report why
          }
        }
      })

    const prewarm: WorkerPool["prewarm"] = (stages) =>
      Effect.gen(function* () {
        let poolable = 0
        for (const stage of stages) if ((yield* locateStage(stage))._tag === "Found") poolable++
        yield* prewarmWorkers(poolable)
      })

    const shutdown = Effect.promise(async () => {
      closed = true
      idle.length = 0
      await Promise.all([...slots].map((s) => terminate(s)))
    })

    return { run, runAt, prewarm, prewarmWorkers, shutdown } satisfies WorkerPool
  })
