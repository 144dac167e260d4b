/** Test harness: run pipelines against a temp store, silently. */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Layer } from "effect"
import type { Pipeline } from "../../dsl/Pipeline.ts"
import { Executor, layerLocal } from "../../runtime/executor/Executor.ts"
import type { PlanOptions } from "../../runtime/executor/plan.ts"
import { layerSilent } from "../../runtime/progress/Progress.ts"

export const tempDir = (prefix: string) => fs.mkdtemp(path.join(os.tmpdir(), `ssl-kd-${prefix}-`))

export const withExecutor = (cacheDir: string) => layerLocal({ cacheDir, workers: 2 }).pipe(Layer.provide(layerSilent))

export const runPipeline = (cacheDir: string, pipeline: Pipeline<any>, options: PlanOptions = {}) =>
  Effect.runPromise(Executor.use((e) => e.run(pipeline, options)).pipe(Effect.provide(withExecutor(cacheDir))))

export const planPipeline = (cacheDir: string, pipeline: Pipeline<any>, options: PlanOptions = {}) =>
  Effect.runPromise(Executor.use((e) => e.plan(pipeline, options)).pipe(Effect.provide(withExecutor(cacheDir))))

export const statuses = (report: { stages: ReadonlyArray<{ name: string; status: string }> }) =>
  Object.fromEntries(report.stages.map((s) => [s.name, s.status]))
