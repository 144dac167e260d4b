/**
 * Loading a pipeline file written in TypeScript (run through tsx). Its default
 * export (or an export named `pipeline`) must be a pipeline, a pipeline
 * builder, or a pipeline family (`Pipeline.family`: one pipeline per preset,
 * picked by `preset`). Every way this can go wrong is a typed error naming
 * the file.
 */
import { existsSync, readdirSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Effect } from "effect"
import { suggest } from "../../dsl/Names.ts"
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

const PIPELINE_EXT = /\.(ts|mts|js|mjs)$/

/** Files near `file` (its folder, and pipelines/) whose name is close: for "did you mean". */
const nearFiles = (file: string, cwd: string): ReadonlyArray<string> => {
  const dirs = [...new Set([path.dirname(file), "pipelines"])]
  const candidates = dirs.flatMap((d) => {
    try {
      return readdirSync(path.resolve(cwd, d)).filter((f) => PIPELINE_EXT.test(f)).map((f) => path.join(d, f))
    } catch {
      return []
    }
  })
  return suggest(file, candidates)
}

/** The presets of a pipeline file (a family's members and each member's presets), for `--help`. */
export const loadPresets = (file: string, cwd: string = process.cwd()) =>
  Effect.gen(function* () {
    const candidate = yield* importCandidate(file, cwd)
    if (isFamily(candidate)) {
      const names = new Set<string>()
      for (const m of Object.values(candidate.members) as Array<Pipeline<any>>) for (const p of Object.keys(m.presets)) names.add(p)
      return { name: candidate.name, presets: [...names], default: candidate.default as string | undefined }
    }
    const p = candidate instanceof PipelineBuilder ? candidate.build() : candidate
    if (!isPipeline(p)) return yield* new PipelineLoadError({ file, reason: "it has no pipeline export" })
    return { name: p.name, presets: Object.keys(p.presets), default: undefined as string | undefined }
  })

const importCandidate = (file: string, cwd: string) =>
  Effect.gen(function* () {
    const abs = path.resolve(cwd, file)
    if (!existsSync(abs)) {
      const near = nearFiles(file, cwd)
      return yield* new PipelineLoadError({ file, reason: `no such file${near.length > 0 ? `; did you mean ${near.map((n) => n).join(" or ")}?` : ""}` })
    }
    if (!PIPELINE_EXT.test(abs)) {
      return yield* new PipelineLoadError({ file, reason: `a pipeline is a TypeScript (or JavaScript) module, e.g. pipelines/paper.ts; ${path.basename(file)} is not (.ts, .mts, .js or .mjs expected)` })
    }
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(abs).href) as Promise<Record<string, unknown>>,
      catch: (e) => {
        if (e !== null && typeof e === "object" && "_tag" in e && "message" in e) {
          return new PipelineLoadError({ file, reason: String((e as { message: unknown }).message) })
        }
        const err = e as Error
        const first = String(err?.message ?? e).split("\n").slice(0, 6).join("\n")
        return new PipelineLoadError({ file, reason: `${err?.name ?? "Error"}: ${first}` })
      },
    })
    const candidate = mod.default ?? mod.pipeline
    if (!isFamily(candidate) && !(candidate instanceof PipelineBuilder) && !isPipeline(candidate)) {
      return yield* new PipelineLoadError({
        file,
        reason: `it has no pipeline export: expected \`export default Pipeline.make(...)...build()\` (found exports: ${Object.keys(mod).join(", ") || "none"})`,
      })
    }
    return candidate as Pipeline<any> | PipelineFamily<any> | PipelineBuilder<any, any>
  })

/** Import `file` and return its pipeline (for a family, the member of `preset`). */
export const loadPipeline = (file: string, cwd: string = process.cwd(), preset?: string | undefined) =>
  Effect.gen(function* () {
    const candidate = yield* importCandidate(file, cwd)
    if (isFamily(candidate)) return yield* familyMember(candidate, preset)
    if (candidate instanceof PipelineBuilder) {
      return yield* Effect.try({
        try: () => candidate.build(),
        catch: (e) => new PipelineLoadError({ file, reason: String((e as Error).message ?? e) }),
      })
    }
    return candidate
  })
