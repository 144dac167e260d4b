/**
 * The seam for running stages outside this process and machine (the cluster
 * executor, runtime/cluster/): the executor hands over the job of a stage
 * that runs, the remote side runs it and commits the entry to the shared
 * store itself (manifest last), and the executor then reads the committed
 * entry like any cached one. Nothing here knows how the job travels.
 */
import { Data, type Effect } from "effect"
import type { AnyStage } from "../../dsl/Stage.ts"
import type { Manifest } from "../cache/manifest.ts"
import type { ItemHooks, ItemJob } from "./pool/WorkerPool.ts"

/** What the remote side writes into the manifest besides timings, backend and files. */
export type ManifestTemplate = Omit<Manifest, "files" | "timings" | "backend">

export interface RemoteRequest {
  readonly stage: AnyStage
  /** The pool job of this machine (absolute paths); the remote side makes it portable. */
  readonly job: ItemJob
  readonly manifest: ManifestTemplate
  /** `--force`d: recompute even where an execution of this key succeeded, and replace the entry. */
  readonly forced: boolean
}

/** A committed execution: when and where it ran. */
export interface RemoteDone {
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationMs: number
  readonly backend: string
  /** Which runner ran it (`host:port`). */
  readonly runner: string
}

/** The stage failed remotely (its own error, with its own tag), or could not be sent or run there. */
export class RemoteStageFailed extends Data.TaggedError("RemoteStageFailed")<{
  readonly node: string
  /** The stage's own error tag (e.g. `DatasetNotFound`), or the runner's refusal (`CodeFingerprintMismatch`). */
  readonly errorTag: string
  readonly detail: string
}> {
  override get message() {
    return `${this.errorTag}: ${this.detail}`
  }
}

export interface RemoteExecutor {
  /** Human-readable place the stages go (e.g. `cluster postgres://host:5432/db`), for logs. */
  readonly description: string
  readonly run: (request: RemoteRequest, hooks: ItemHooks) => Effect.Effect<RemoteDone, RemoteStageFailed>
}
