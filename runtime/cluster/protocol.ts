/**
 * What travels through the cluster: one stage execution is one durable
 * workflow (`StageExecution`), whose idempotency key is the stage's cache key
 * (plus a generation, so that a failed execution can be retried by a later
 * run); the workflow hands the job to the runners through a durable queue per
 * resource class (`stage-cpu`, `stage-gpu`), which a runner's workers take
 * from only while they have a free slot. Jobs carry no absolute path of one
 * machine: the stage's module and plugin files are relative to the project
 * root, the store is each runner's own `--cache-dir` (the shared store).
 */
import { Schema } from "effect"
import { DurableQueue, Workflow } from "effect/workflow"

export const ResourceClass = Schema.Literals(["cpu", "gpu"])
export type ResourceClass = typeof ResourceClass.Type

const InputKeys = Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Array(Schema.Struct({ item: Schema.String, key: Schema.String }))]))

/** A pool job (runtime/executor/pool/protocol.ts `Job`) without machine-specific paths. */
export const PortableJob = Schema.Struct({
  node: Schema.String,
  key: Schema.String,
  stage: Schema.Struct({
    /** Path of the stage's module relative to the project root, with `/` separators. */
    module: Schema.String,
    exportName: Schema.String,
    stageName: Schema.String,
  }),
  /** The canonical config, as JSON text. */
  config: Schema.String,
  inputs: InputKeys,
  /** Plugin files to import first, relative to the project root. */
  preload: Schema.Array(Schema.String),
})
export type PortableJob = typeof PortableJob.Type

export const StagePayload = Schema.Struct({
  key: Schema.String,
  /** 0 for the first execution of a key; a later run retries a failed execution as the next generation. */
  generation: Schema.Int,
  resource: ResourceClass,
  job: PortableJob,
  /** The stage's code fingerprint as the submitting checkout computed it: a runner with other code refuses the job. */
  codeFingerprint: Schema.String,
  /** The dataset identity of the files the stage reads, as the submitter hashed them (null: none): a runner whose files differ refuses the job. */
  dataIdentity: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** The user plugins the config names, with their code fingerprints as the submitter computed them: a runner with other plugin code refuses the job. */
  plugins: Schema.optionalKey(Schema.Array(Schema.Struct({ what: Schema.String, name: Schema.String, code: Schema.String }))),
  /** `--force`: run the stage even if its entry exists, and replace it (the execution is a new generation). */
  force: Schema.optionalKey(Schema.Boolean),
  /** The manifest to commit, less timings, backend and files (runtime/executor/remote.ts `ManifestTemplate`), as JSON text. */
  manifest: Schema.String,
})
export type StagePayload = typeof StagePayload.Type

export const StageDone = Schema.Struct({
  startedAt: Schema.String,
  finishedAt: Schema.String,
  durationMs: Schema.Finite,
  backend: Schema.String,
  runner: Schema.String,
})
export type StageDone = typeof StageDone.Type

/** Why an execution failed: the stage's own error tag, or the runner's refusal. Not retried by the cluster. */
export const StageError = Schema.Struct({
  _tag: Schema.Literal("StageError"),
  errorTag: Schema.String,
  detail: Schema.String,
  runner: Schema.String,
})
export type StageError = typeof StageError.Type

export const idempotencyKey = (p: { readonly key: string; readonly generation: number }): string => `${p.key}/${p.generation}`

export const StageExecution = Workflow.make("ssl-kd/StageExecution", {
  payload: StagePayload,
  success: StageDone,
  error: StageError,
  idempotencyKey,
})

const queue = (resource: ResourceClass) =>
  DurableQueue.make({ name: `ssl-kd/stage-${resource}`, payload: StagePayload, success: StageDone, error: StageError, idempotencyKey })

export const StageQueues = { cpu: queue("cpu"), gpu: queue("gpu") } as const
