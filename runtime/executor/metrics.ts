/**
 * Stage metrics (`StageContext.metric`): buffered while a stage runs, written
 * as JSON lines to `metrics.jsonl` beside the entry's manifest in the same
 * commit (a sidecar, not part of the payload: metrics describe how an entry
 * was made, like its timings), and read back for cached stages, so a cached
 * run publishes the same metrics as the run that computed them.
 */
import { Effect } from "effect"
import type { MetricRecord } from "../../dsl/StageContext.ts"
import type { StoreShape } from "../cache/Store.ts"

export type { MetricRecord }

export const METRICS_FILE = "metrics.jsonl"

/** Keep only finite numbers (a record is JSON: NaN and Infinity do not survive). */
export const cleanRecord = (r: MetricRecord): MetricRecord =>
  Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === "number" && Number.isFinite(v))) as MetricRecord

/** The metrics sidecar of an entry (committed with it, `CommitOptions.sidecars`); none for no records. */
export const metricsSidecar = (records: ReadonlyArray<MetricRecord>): Array<{ name: string; bytes: Uint8Array }> =>
  records.length === 0 ? [] : [{ name: METRICS_FILE, bytes: new TextEncoder().encode(records.map((r) => JSON.stringify(cleanRecord(r))).join("\n") + "\n") }]

/** An entry's metrics from its sidecars (`StoreShape.readSidecars`: a remote store's too); none when absent or unreadable. */
export const metricsOf = (sidecars: ReadonlyMap<string, Uint8Array>): ReadonlyArray<MetricRecord> => {
  const bytes = sidecars.get(METRICS_FILE)
  return bytes === undefined ? [] : parseMetrics(new TextDecoder().decode(bytes))
}

/** An entry's metrics as `store` has them (a remote store's too); none when absent or unreadable. */
export const entryMetrics = (store: StoreShape, key: string): Effect.Effect<ReadonlyArray<MetricRecord>> =>
  store.readSidecars(key).pipe(
    Effect.map(metricsOf),
    Effect.orElseSucceed((): ReadonlyArray<MetricRecord> => []),
  )

const parseMetrics = (text: string): ReadonlyArray<MetricRecord> => {
  const out: Array<MetricRecord> = []
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    try {
      const v = JSON.parse(line) as unknown
      if (typeof v === "object" && v !== null && !Array.isArray(v)) out.push(cleanRecord(v as MetricRecord))
    } catch {
      // a damaged line: skip
    }
  }
  return out
}

/**
 * Headline values of a node's metrics: each summary value (a record without
 * epoch or step), else the value in its last epoch record, else in its last
 * step record. E.g. `{ loss: 0.41, top1: 64.1 }`.
 */
export const headline = (records: ReadonlyArray<MetricRecord>): Readonly<Record<string, number>> => {
  const rank = (r: MetricRecord) => (r.epoch === undefined && r.step === undefined ? 3 : r.step === undefined ? 2 : 1)
  const best = new Map<string, { rank: number; value: number }>()
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (k === "epoch" || k === "step" || typeof v !== "number") continue
      const prev = best.get(k)
      if (prev === undefined || rank(r) >= prev.rank) best.set(k, { rank: rank(r), value: v })
    }
  }
  return Object.fromEntries([...best].map(([k, v]) => [k, v.value]))
}
