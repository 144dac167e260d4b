/**
 * The stable output folder of a pipeline: `.ssl-kd/out/<pipeline>[-<preset>]/`
 * (or `--out DIR`), replaced by every run so it always shows the latest:
 *
 *   <node>/...            the payload files of every terminal node (a node no
 *                         other node consumes: in pipelines/paper.ts the
 *                         report and the exported student), copied from the
 *                         store (copies, so editing them cannot corrupt it)
 *   metrics.csv           every metric the run's stages recorded, long format
 *                         (node,stage,epoch,step,metric,value), ran or cached
 *   metrics/<node>.jsonl  the same, one JSON object per record
 *   run.json              the run record, plus `outputs` (node -> folder)
 *
 * The rule is generic (no plugin is imported): what a pipeline publishes is
 * what ends its DAG.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import type { Pipeline } from "../../dsl/Pipeline.ts"
import { inputSources } from "../../dsl/Pipeline.ts"
import { entryMetrics, type MetricRecord } from "../executor/metrics.ts"
import { storeAt, type RemoteStoreShape } from "../cache/remoteStore.ts"
import type { RunReport } from "../cache/runRecord.ts"

/** Nodes whose output no other node consumes. */
export const terminalNodes = (pipeline: Pipeline<any>): ReadonlyArray<string> => {
  const consumed = new Set(pipeline.nodes.flatMap((n) => Object.values(n.inputs).flatMap((s) => inputSources(pipeline, s).map((x) => x.node))))
  return pipeline.nodes.filter((n) => !consumed.has(n.name)).map((n) => n.name)
}

/** The default output folder of a pipeline run. */
export const defaultOutDir = (storeRoot: string, pipeline: string, preset: string | undefined): string =>
  path.join(storeRoot, "out", `${pipeline}${preset === undefined ? "" : `-${preset}`}`.replace(/[^A-Za-z0-9_.-]/g, "_"))

export interface Published {
  readonly dir: string
  /** Node -> its folder (absolute). */
  readonly outputs: Readonly<Record<string, string>>
  /** HTML files among the outputs (e.g. the report), absolute. */
  readonly html: ReadonlyArray<string>
  readonly metricsFile: string | undefined
}

const csvCell = (v: unknown): string => {
  const s = v === undefined || v === null ? "" : String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** Rows of metrics.csv for one node's records. */
export const metricRows = (node: string, stage: string, records: ReadonlyArray<MetricRecord>): ReadonlyArray<string> =>
  records.flatMap((r) =>
    Object.entries(r)
      .filter(([k, v]) => k !== "epoch" && k !== "step" && typeof v === "number")
      .map(([k, v]) => [node, stage, r.epoch, r.step, k, v].map(csvCell).join(",")),
  )

/**
 * Replace `dir` with this run's outputs (built in a sibling temp folder, then
 * swapped in). Failures to publish are reported by the caller, never fatal.
 */
export const publishOutputs = (options: {
  readonly storeRoot: string
  /** The remote store `storeRoot` reads through to: outputs and metrics only there are copied from it. */
  readonly remoteStore?: RemoteStoreShape
  readonly dir: string
  readonly pipeline: Pipeline<any>
  readonly report: RunReport
}): Effect.Effect<Published, Error> =>
  Effect.tryPromise({
    try: async () => {
      const store = storeAt(options.storeRoot, options.remoteStore)
      const dir = path.resolve(options.dir)
      const tmp = `${dir}.tmp-${process.pid}`
      await fs.rm(tmp, { recursive: true, force: true })
      await fs.mkdir(tmp, { recursive: true })
      const byName = new Map(options.report.stages.map((s) => [s.name, s]))
      const outputs: Record<string, string> = {}
      const html: Array<string> = []
      for (const node of terminalNodes(options.pipeline)) {
        const s = byName.get(node)
        if (s === undefined || s.status === "failed") continue
        // with a remote store, a full lookup copies an entry held only there into the local store
        const found = await Effect.runPromise(Effect.option(store.lookup(s.key, options.remoteStore === undefined ? "size" : "full")))
        if (found._tag === "None" || found.value._tag !== "Hit") continue
        const target = path.join(tmp, node.replace(/[^A-Za-z0-9_.-]/g, "_"))
        for (const f of found.value.manifest.files) {
          await fs.mkdir(path.dirname(path.join(target, f.name)), { recursive: true })
          await fs.copyFile(path.join(store.entryDir(s.key), "payload", f.name), path.join(target, f.name))
          if (f.name.endsWith(".html")) html.push(path.join(dir, path.basename(target), f.name))
        }
        outputs[node] = path.join(dir, path.basename(target))
      }
      const csv: Array<string> = ["node,stage,epoch,step,metric,value"]
      for (const s of options.report.stages) {
        if (s.status === "failed") continue
        const records = await Effect.runPromise(entryMetrics(store, s.key))
        if (records.length === 0) continue
        await fs.mkdir(path.join(tmp, "metrics"), { recursive: true })
        await fs.writeFile(path.join(tmp, "metrics", `${s.name.replace(/[^A-Za-z0-9_.-]/g, "_")}.jsonl`), records.map((r) => JSON.stringify(r)).join("\n") + "\n")
        csv.push(...metricRows(s.name, s.stage, records))
      }
      const metricsFile = csv.length > 1 ? path.join(dir, "metrics.csv") : undefined
      if (csv.length > 1) await fs.writeFile(path.join(tmp, "metrics.csv"), `${csv.join("\n")}\n`)
      await fs.writeFile(path.join(tmp, "run.json"), JSON.stringify({ ...options.report, outputs }, null, 2))
      const old = `${dir}.old-${process.pid}`
      await fs.rename(dir, old).catch(() => undefined)
      await fs.mkdir(path.dirname(dir), { recursive: true })
      await fs.rename(tmp, dir)
      await fs.rm(old, { recursive: true, force: true })
      return { dir, outputs, html, metricsFile }
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e))),
  })
