/**
 * The main of a pool worker thread (started by worker.mjs, which registers
 * tsx first). Runs one job at a time: imports the stage's module, finds the
 * exported stage, reads and decodes its inputs from the store with the
 * stage's own input codecs, runs it with a StageContext whose progress and
 * log go to the parent, encodes the value with the stage's output codec and
 * transfers the bytes back. The parent commits the entry.
 *
 * Each worker has its own tfjs engine: with a backend request, the first job
 * that needs it selects the backend (as the main process would) and later
 * jobs reuse it. Tensors found in a job's inputs and value are disposed once
 * the value is encoded.
 */
import { parentPort, threadId, workerData } from "node:worker_threads"
import { Context, Effect, Exit, Fiber, Schema } from "effect"
import type { AnyStage } from "../../../dsl/Stage.ts"
import { StageContext } from "../../../dsl/StageContext.ts"
import { jobStore } from "./jobStore.ts"
import { defaultVersions, RuntimeInfo, type RuntimeInfoShape } from "../RuntimeInfo.ts"
import { backendDescription, describeCause, transferable, type FromWorker, type Job, type ToWorker, type WorkerInit } from "./protocol.ts"

const port = parentPort
if (port === null) throw new Error("runtime/executor/pool/workerMain.ts runs only as a worker thread")

const post = (msg: FromWorker, transfer: Array<ArrayBuffer> = []) => port.postMessage(msg, transfer)

/** Not a stage failure: the job cannot run here at all (the parent runs it in-process). */
class Unavailable {
  readonly _tag = "Unavailable"
  constructor(readonly reason: string) {}
}
/** A failure before or while the stage ran, reported as the stage's. */
class Failed {
  readonly _tag = "Failed"
  constructor(
    readonly phase: "stage" | "output",
    readonly errorTag: string,
    readonly message: string,
  ) {}
}

const isStage = (v: unknown): v is AnyStage => typeof v === "object" && v !== null && (v as { _tag?: unknown })._tag === "Stage"

type Tf = typeof import("@tensorflow/tfjs-core")
interface Tensors {
  readonly context: Context.Context<never>
  readonly description: string
  readonly announce: string
  readonly tf: Tf
}

// Workers are the pool's unit of parallelism: the native kernels run one thread each here
// (unless SSL_KD_NATIVE_THREADS says otherwise). OpenMP thread teams started inside worker
// threads also crashed the process at exit (SIGSEGV after the run, seen with SSL_KD_POOL=all
// on the native backend). This worker's process.env is its own copy.
process.env["SSL_KD_NATIVE_THREADS"] ??= "1"

const init = workerData as WorkerInit
/** The worker's tensor backend, selected once, as soon as the worker starts (overlapping upstream stages). */
const selection: Promise<Exit.Exit<Tensors | undefined, Failed>> = Effect.runPromiseExit(
  Effect.gen(function* () {
    const request = init.backend
    if (request === undefined) return undefined
    const { describeBackend, selectBackend, TensorBackend } = yield* Effect.promise(() => import("../../backend/TensorBackend.ts"))
    const tf = yield* Effect.promise(() => import("@tensorflow/tfjs-core"))
    const info = yield* selectBackend({ flag: request.flag, env: request.env }).pipe(Effect.mapError((e) => new Failed("stage", e._tag, e.message)))
    const context = Context.make(TensorBackend, { info }) as Context.Context<never>
    return { context, description: backendDescription(info), announce: `worker ${threadId}: ${describeBackend(info)}`, tf }
  }),
)
let announced = false

const tensorContext = (id: number) =>
  Effect.gen(function* () {
    const tensors = yield* Effect.flatten(Effect.promise(() => selection))
    if (tensors !== undefined && !announced) {
      announced = true
      post({ type: "log", id, message: tensors.announce })
    }
    return tensors
  })

const importStage = (job: Job) =>
  Effect.gen(function* () {
    // The user plugins the stage's config names register themselves as their modules load (once per worker).
    for (const url of job.preload) {
      yield* Effect.tryPromise({
        try: () => import(url),
        catch: (e) => new Failed("stage", "PluginModuleError", `plugin module ${url} does not load in a worker: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`),
      })
    }
    const mod = yield* Effect.tryPromise({
      try: () => import(job.stage.moduleUrl) as Promise<Record<string, unknown>>,
      catch: (e) => new Unavailable(`its module does not load in a worker (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`),
    })
    const stage = mod[job.stage.exportName]
    if (!isStage(stage) || stage.name !== job.stage.stageName) {
      return yield* Effect.fail(new Unavailable(`export ${job.stage.exportName} of its module is not stage ${job.stage.stageName} in a worker`))
    }
    return stage
  })

const loadInputs = (job: Job, stage: AnyStage) =>
  Effect.gen(function* () {
    const store = yield* jobStore(job)
    const load = (input: string, key: string) =>
      Effect.gen(function* () {
        const spec = stage.inputs[input]
        if (spec === undefined) return yield* Effect.fail(new Failed("stage", "InputError", `stage ${stage.name} declares no input ${input}`))
        const artifact = spec._tag === "Many" ? spec.of : spec
        const found = yield* store.lookup(key, "size")
        if (found._tag !== "Hit") {
          const why = found._tag === "Miss" ? "is missing" : `is corrupt (${found.reason})`
          return yield* Effect.fail(new Failed("stage", "InputError", `input ${input}: cache entry ${key.slice(0, 12)} ${why}`))
        }
        const files = yield* store.readPayload(found.manifest)
        return yield* artifact.decode(files)
      })
    const out: Record<string, unknown> = {}
    for (const [input, keyOrItems] of Object.entries(job.inputs)) {
      if (typeof keyOrItems === "string") out[input] = yield* load(input, keyOrItems)
      else {
        const items: Array<{ item: string; value: unknown }> = []
        for (const { item, key } of keyOrItems) items.push({ item, value: yield* load(input, key) })
        out[input] = items
      }
    }
    return out
  })

/** What the stage may learn about its run: this worker's backend and versions, the run's facts as the parent sent them. */
const runtimeInfo = (job: Job, backend: string | undefined): RuntimeInfoShape => {
  const facts = job.run
  return { backend: () => backend ?? "none", versions: defaultVersions(), ...(facts === undefined ? {} : { run: () => facts }) }
}

const runJob = (id: number, job: Job) =>
  Effect.gen(function* () {
    const stage = yield* importStage(job)
    const config = yield* Schema.decodeUnknownEffect(stage.config)(job.config).pipe(
      Effect.mapError((e) => new Failed("stage", "ConfigError", `config of ${job.node} does not decode in the worker: ${e.message}`)),
    )
    const tensorsHere = yield* tensorContext(id)
    const before = tensorsHere?.tf.memory().numTensors
    const inputs = yield* loadInputs(job, stage)
    const ctx = StageContext.of({
      node: job.node,
      key: job.key,
      scratchDir: job.scratchDir,
      progress: (progress) => Effect.sync(() => post({ type: "progress", id, progress })),
      log: (message) => Effect.sync(() => post({ type: "log", id, message })),
      metric: (record) => Effect.sync(() => post({ type: "metric", id, record })),
    })
    const run: Effect.Effect<unknown, unknown, StageContext> = stage.run({ config, inputs })
    const exit = yield* Effect.exit(
      run.pipe(
        Effect.provideService(StageContext, ctx),
        Effect.provideService(RuntimeInfo, runtimeInfo(job, tensorsHere?.description)),
        Effect.provideContext(tensorsHere?.context ?? Context.empty()),
      ),
    )
    if (Exit.isFailure(exit)) {
      if (tensorsHere !== undefined) tensorsHere.tf.dispose(inputs as never)
      const { tag, detail } = describeCause(exit.cause)
      return yield* Effect.fail(new Failed("stage", tag, detail))
    }
    const encoded = yield* Effect.try({
      try: () => stage.output.encode(exit.value),
      catch: (e) => new Failed("output", "OutputError", `encoding ${stage.output.name} failed: ${String(e)}`),
    })
    // The main process commits these files without decoding them: check here that they decode.
    const check = yield* Effect.exit(stage.output.decode(new Map(encoded.map((f) => [f.name, f.bytes]))))
    if (Exit.isFailure(check)) {
      if (tensorsHere !== undefined) tensorsHere.tf.dispose([inputs, exit.value] as never)
      return yield* Effect.fail(new Failed("output", "OutputError", `what it encoded as ${stage.output.name} does not decode: ${describeCause(check.cause).detail}`))
    }
    if (tensorsHere !== undefined) tensorsHere.tf.dispose(check.value as never)
    const { files, transfer } = transferable(encoded)
    if (tensorsHere !== undefined) {
      tensorsHere.tf.dispose([inputs, exit.value] as never)
      const left = tensorsHere.tf.memory().numTensors - (before ?? 0)
      if (left > 0) post({ type: "log", id, message: `${left} tensor(s) still allocated in worker ${threadId} after the stage (not disposed by it)` })
    }
    post({ type: "done", id, files, backend: tensorsHere?.description }, transfer)
  })

let current: { readonly id: number; readonly fiber: Fiber.Fiber<void> } | undefined

const start = (id: number, job: Job) => {
  const program = runJob(id, job).pipe(
    Effect.catchCause((cause) =>
      Effect.sync(() => {
        const err = cause.reasons.find((r) => r._tag === "Fail")
        const e = err?._tag === "Fail" ? err.error : undefined
        if (e instanceof Unavailable) return post({ type: "unavailable", id, reason: e.reason })
        if (e instanceof Failed) return post({ type: "failed", id, phase: e.phase, errorTag: e.errorTag, message: e.message })
        if (cause.reasons.every((r) => r._tag === "Interrupt")) return post({ type: "interrupted", id })
        const { tag, detail } = describeCause(cause)
        post({ type: "failed", id, phase: "stage", errorTag: tag, message: detail })
      }),
    ),
    Effect.ensuring(
      Effect.sync(() => {
        if (current?.id === id) current = undefined
      }),
    ),
  )
  current = { id, fiber: Effect.runFork(program) }
}

port.on("message", (msg: ToWorker) => {
  if (msg.type === "run") start(msg.id, msg.job)
  else if (msg.type === "interrupt" && current?.id === msg.id) {
    const { fiber } = current
    Effect.runFork(Fiber.interrupt(fiber).pipe(Effect.andThen(Effect.sync(() => post({ type: "interrupted", id: msg.id })))))
  }
})
post({ type: "ready" })
