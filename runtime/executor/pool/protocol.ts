/**
 * The messages between the executor and its pool workers (see WorkerPool.ts).
 * Everything here is structured-clone data: no classes, no functions.
 */
import { Cause } from "effect"
import type { MetricRecord, Progress } from "../../../dsl/StageContext.ts"
import type { RunFacts } from "../RuntimeInfo.ts"

/** Which backend a worker selects, as the main process would (`--backend`, `SSL_KD_BACKEND`). */
export interface BackendRequestData {
  readonly flag?: string | undefined
  readonly env?: string | undefined
}

/** Where the worker finds a stage: an exported top-level value of a module. */
export interface StageAddress {
  readonly moduleUrl: string
  readonly exportName: string
  /** The stage's own name, checked against what the export holds. */
  readonly stageName: string
}

/** One fan-out item to run. Inputs are cache keys: the worker reads and decodes them itself. */
export interface Job {
  readonly node: string
  readonly key: string
  readonly stage: StageAddress
  /** The canonical (encoded, defaults applied) config; decoded in the worker with the stage's schema. */
  readonly config: unknown
  readonly storeRoot: string
  /** The folder of the remote store `storeRoot` reads through to (`--remote-store`), when there is one. */
  readonly remoteStoreFolder?: string
  /** Input name -> key, or the `{item, key}` list of an `Artifact.many` input. */
  readonly inputs: Readonly<Record<string, string | ReadonlyArray<{ readonly item: string; readonly key: string }>>>
  readonly scratchDir: string
  /** Modules to import before the stage's: the files registering the user plugins its config names. */
  readonly preload: ReadonlyArray<string>
  /**
   * The run this job is part of, as `RuntimeInfo.run` gives it in-process
   * (`paper/report` states how it was made from it): a snapshot taken when the
   * job was sent, so nodes finishing after that show no timing.
   */
  readonly run?: RunFacts
}

/** A worker's `workerData`. */
export interface WorkerInit {
  /**
   * When set, the worker selects a backend with this request as soon as it
   * starts (its own tfjs engine) and provides `TensorBackend` to every stage.
   */
  readonly backend: BackendRequestData | undefined
}

export type ToWorker =
  | { readonly type: "run"; readonly id: number; readonly job: Job }
  | { readonly type: "interrupt"; readonly id: number }

export interface OutputFile {
  readonly name: string
  readonly bytes: Uint8Array
}

export type FromWorker =
  /** The worker's main has loaded and listens for jobs. */
  | { readonly type: "ready" }
  | { readonly type: "progress"; readonly id: number; readonly progress: Progress }
  | { readonly type: "log"; readonly id: number; readonly message: string }
  | { readonly type: "metric"; readonly id: number; readonly record: MetricRecord }
  | { readonly type: "done"; readonly id: number; readonly files: ReadonlyArray<OutputFile>; readonly backend: string | undefined }
  /** `phase`: `stage` (its run failed, or its inputs/config/backend could not be prepared) or `output` (encoding failed). */
  | { readonly type: "failed"; readonly id: number; readonly phase: "stage" | "output"; readonly errorTag: string; readonly message: string }
  /** The stage cannot be run in a worker (module does not load there, export missing): run it in-process. */
  | { readonly type: "unavailable"; readonly id: number; readonly reason: string }
  | { readonly type: "interrupted"; readonly id: number }

/** A failure's tag and message, as run records show them. */
export const describeCause = (cause: Cause.Cause<unknown>): { tag: string; detail: string } => {
  const err = Cause.squash(cause)
  if (err !== null && typeof err === "object" && "_tag" in err) {
    // A stage's error that came back from a pool worker: report the stage's own tag.
    if (err._tag === "StageFailedInWorker" && "errorTag" in err && "detail" in err) return { tag: String(err.errorTag), detail: String(err.detail) }
    const tagged = err as { _tag: unknown; message?: unknown }
    return { tag: String(tagged._tag), detail: String(tagged.message ?? "") }
  }
  if (err instanceof Error) return { tag: err.name, detail: err.message }
  return { tag: "Error", detail: String(err) }
}

/** `name version (detail)`, the form manifests record (as `tensorServices` in the CLI writes it). */
export const backendDescription = (info: { readonly name: string; readonly version: string; readonly detail: string }): string =>
  `${info.name} ${info.version} (${info.detail})`

/**
 * The files' bytes as transferable buffers: a view covering a whole, plain
 * ArrayBuffer is transferred as is; anything else (a slice of a larger buffer,
 * a view into wasm memory, a shared buffer) is copied once into its own.
 */
export const transferable = (files: ReadonlyArray<OutputFile>): { files: Array<OutputFile>; transfer: Array<ArrayBuffer> } => {
  const transfer = new Set<ArrayBuffer>()
  const out = files.map((f) => {
    const b = f.bytes
    const whole = b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !transfer.has(b.buffer)
    if (whole) {
      transfer.add(b.buffer as ArrayBuffer)
      return { name: f.name, bytes: b }
    }
    const copy = new Uint8Array(b.byteLength)
    copy.set(b)
    transfer.add(copy.buffer)
    return { name: f.name, bytes: copy }
  })
  return { files: out, transfer: [...transfer] }
}
