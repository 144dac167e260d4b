/**
 * Loading a pipeline file written in TypeScript (run through tsx). Its default
 * export (or an export named `pipeline`) must be a pipeline, a pipeline
 * builder, or a pipeline family (`Pipeline.family`: one pipeline per preset,
 * picked by `preset`). Every way this can go wrong is a typed error naming
 * the file.
 */
import { existsSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Effect } from "effect"
import { familyMember, PipelineBuilder, type Pipeline, type PipelineFamily } from "../../dsl/Pipeline.ts"

export class PipelineLoadError extends Data.TaggedError("PipelineLoadError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `cannot load pipeline ${this.file}: ${this.reason}`
  }
}

const isPipeline = (v: unknown): v is Pipeline<any> =>
  typeof v === "object" && v !== null && (v as { _tag?: unknown })._tag === "Pipeline"

const isFamily = (v: unknown): v is PipelineFamily<any> =>
  typeof v === "object" && v !== null && (v as { _tag?: unknown })._tag === "PipelineFamily"

/** Import `file` and return its pipeline (for a family, the member of `preset`). */
export const loadPipeline = (file: string, cwd: string = process.cwd(), preset?: string | undefined) =>
  Effect.gen(function* () {
    const abs = path.resolve(cwd, file)
    if (!existsSync(abs)) return yield* new PipelineLoadError({ file, reason: "no such file" })
    const mod = yield* Effect.tryPromise({
      // A query string gives a fresh module instance when the file changed (watch mode).
      try: () => import(pathToFileURL(abs).href) as Promise<Record<string, unknown>>,
      catch: (e) => {
        if (e !== null && typeof e === "object" && "_tag" in e && "message" in e) {
          // A typed error thrown while the module was built (e.g. PipelineDefinitionError).
          return new PipelineLoadError({ file, reason: String((e as { message: unknown }).message) })
        }
        const err = e as Error
        const first = String(err?.message ?? e).split("\n").slice(0, 6).join("\n")
        return new PipelineLoadError({ file, reason: `${err?.name ?? "Error"}: ${first}` })
      },
    })
    const candidate = mod.default ?? mod.pipeline
    if (isFamily(candidate)) return yield* familyMember(candidate, preset)
    if (candidate instanceof PipelineBuilder) {
      return yield* Effect.try({
        try: () => candidate.build(),
        catch: (e) => new PipelineLoadError({ file, reason: String((e as Error).message ?? e) }),
      })
    }
    if (!isPipeline(candidate)) {
      return yield* new PipelineLoadError({
        file,
        reason: `it has no pipeline export: expected \`export default Pipeline.make(...)...build()\` (found exports: ${Object.keys(mod).join(", ") || "none"})`,
      })
    }
    return candidate
  })
