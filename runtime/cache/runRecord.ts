/** Run records: one JSON file per run in the store's `runs/` folder. */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Schema } from "effect"

/** How one node of a run ended. */
export type NodeStatus = "ran" | "cached" | "failed"

export interface NodeOutcome {
  readonly name: string
  readonly stage: string
  readonly key: string
  readonly status: NodeStatus
  readonly durationMs: number
  /** Why it ran (no entry, forced, corrupt entry) or how it was served. */
  readonly reason: string | undefined
  readonly error: { readonly _tag: string; readonly message: string } | undefined
}

export interface RunReport {
  readonly runId: string
  readonly pipeline: string
  readonly preset: string | null
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationMs: number
  readonly ok: boolean
  readonly interrupted: boolean
  readonly argv: ReadonlyArray<string>
  readonly stages: ReadonlyArray<NodeOutcome>
  /** Each node's resolved config (canonical, defaults applied): what `ssl-kd runs diff` compares. */
  readonly configs?: Readonly<Record<string, unknown>>
  /** Each node's headline metrics (see `metrics.ts`), ran or cached: what `ssl-kd runs` lists. */
  readonly metrics?: Readonly<Record<string, Readonly<Record<string, number>>>>
}

export const newRunId = (pipeline: string): string =>
  `${new Date().toISOString().replace(/[:.]/g, "-")}-${pipeline.replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}`

/** Write a run record atomically; returns its path. Failures to write are reported, not fatal. */
export const writeRunRecord = (storeRoot: string, report: RunReport): Effect.Effect<string | undefined> =>
  Effect.promise(async () => {
    const dir = path.join(storeRoot, "runs")
    const file = path.join(dir, `${report.runId}.json`)
    try {
      await fs.mkdir(dir, { recursive: true })
      await fs.writeFile(`${file}.tmp`, JSON.stringify(report, null, 2))
      await fs.rename(`${file}.tmp`, file)
      return file
    } catch {
      return undefined
    }
  })

/** The fields of a run record that readers rely on (a damaged or foreign record is skipped). */
const RecordShape = Schema.Struct({
  runId: Schema.String,
  pipeline: Schema.String,
  preset: Schema.NullOr(Schema.String),
  interrupted: Schema.Boolean,
  stages: Schema.Array(Schema.Struct({ name: Schema.String, key: Schema.String, status: Schema.String })),
})
const isRecord = Schema.is(RecordShape)

/** All run records, newest first (unreadable or malformed ones skipped). */
export const readRunRecords = (storeRoot: string): Effect.Effect<ReadonlyArray<RunReport>> =>
  Effect.promise(async () => {
    const dir = path.join(storeRoot, "runs")
    let names: Array<string> = []
    try {
      names = (await fs.readdir(dir)).filter((n) => n.endsWith(".json")).sort().reverse()
    } catch {
      return []
    }
    const out: Array<RunReport> = []
    for (const n of names) {
      try {
        const parsed: unknown = JSON.parse(await fs.readFile(path.join(dir, n), "utf8"))
        if (isRecord(parsed)) out.push(parsed as unknown as RunReport)
      } catch {
        // a record being written or damaged: skip
      }
    }
    return out
  })
