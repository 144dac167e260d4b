/**
 * Runs one stage's `run` directly, as the executor would: config decoded by
 * the stage's schema (defaults applied), a `StageContext` whose scratch folder
 * the test chooses (so two runs can share it, as a rerun of the same cache key
 * does), and a tensor backend. Logs are collected; `onProgress` lets a test
 * stop the stage part-way.
 */
import { Effect, Layer, Schema } from "effect"
import type { ValueOf } from "../../../dsl/Artifact.ts"
import type { AnyStage, ErrorOf, InputValues } from "../../../dsl/Stage.ts"
import type { Pipeline } from "../../../dsl/Pipeline.ts"
import { Executor, type RunOptions } from "../../../runtime/executor/Executor.ts"
import { withExecutor } from "../../runtime/harness.ts"
import { StageContext, type Progress } from "../../../dsl/index.ts"
import { selectBackend, TensorBackend } from "../../../runtime/backend/TensorBackend.ts"

export interface StageRun {
  readonly logs: Array<string>
  readonly progress: Array<Progress>
}

export const runStage = <S extends AnyStage>(
  stage: S,
  config: Partial<S["config"]["Encoded"]>,
  inputs: InputValues<S["inputs"]>,
  o: { readonly scratchDir: string; readonly onProgress?: (p: Progress) => Effect.Effect<void>; readonly record?: StageRun },
) => {
  const record = o.record ?? { logs: [], progress: [] }
  const ctx = StageContext.of({
    node: stage.name,
    key: "test",
    scratchDir: o.scratchDir,
    progress: (p) => Effect.andThen(Effect.sync(() => void record.progress.push(p)), o.onProgress?.(p) ?? Effect.void),
    log: (m) => Effect.sync(() => void record.logs.push(m)),
  })
  return Effect.gen(function* () {
    const decoded: S["config"]["Type"] = yield* Schema.decodeUnknownEffect(stage.config)(config)
    const run: Effect.Effect<ValueOf<S["output"]>, ErrorOf<S>, StageContext | TensorBackend> = stage.run({ config: decoded, inputs })
    return yield* run
  }).pipe(Effect.provideService(StageContext, ctx), Effect.provide(Layer.fresh(TensorBackend.layer({ flag: process.env.SSL_KD_BACKEND ?? "wasm" }))))
}

/** Selects the harness's backend now (before any tensor or gradient), for tests that count tensors first. */
export const selectTestBackend = () => Effect.runPromise(Effect.asVoid(selectBackend({ flag: process.env.SSL_KD_BACKEND ?? "wasm" })))

/** Runs a pipeline against a store at `cacheDir` with run options (stage services). */
export const runPipelineWith = (cacheDir: string, pipeline: Pipeline<any>, options: RunOptions) =>
  Effect.runPromise(Executor.use((e) => e.run(pipeline, options)).pipe(Effect.provide(withExecutor(cacheDir))))
