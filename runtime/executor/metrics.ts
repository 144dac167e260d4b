/**
 * Stage metrics (`StageContext.metric`): buffered while a stage runs, written
 * as JSON lines to `metrics.jsonl` beside the entry's manifest once the entry
 * is committed (not part of the payload: metrics describe how an entry was
 * made, like its timings), and read back for cached stages, so a cached run
 * publishes the same metrics as the run that computed them.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { MetricRecord } from "../../dsl/StageContext.ts"

export type { MetricRecord }

export const METRICS_FILE = "metrics.jsonl"

/** Keep only finite numbers (a record is JSON: NaN and Infinity do not survive). */
export const cleanRecord = (r: MetricRecord): MetricRecord =>
  Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === "number" && Number.isFinite(v))) as MetricRecord

/** The metrics sidecar of an entry (committed with it, `CommitOptions.sidecars`); none for no records. */
export const metricsSidecar = (records: ReadonlyArray<MetricRecord>): Array<{ name: string; bytes: Uint8Array }> =>
  records.length === 0 ? [] : [{ name: METRICS_FILE, bytes: new TextEncoder().encode(records.map((r) => JSON.stringify(cleanRecord(r))).join("\n") + "\n") }]

export const writeEntryMetrics = async (entryDir: string, records: ReadonlyArray<MetricRecord>): Promise<void> => {
  if (records.length === 0) return
  const file = path.join(entryDir, METRICS_FILE)
  await fs.writeFile(`${file}.tmp`, records.map((r) => JSON.stringify(cleanRecord(r))).join("\n") + "\n")
  await fs.rename(`${file}.tmp`, file)
}

/** An entry's metrics; none when absent or unreadable (lines that do not parse are skipped). */
export const readEntryMetrics = async (entryDir: string): Promise<ReadonlyArray<MetricRecord>> => {
  let text: string
  try {
    text = await fs.readFile(path.join(entryDir, METRICS_FILE), "utf8")
  } catch {
    return []
  }
  return parseMetrics(text)
}

/** An entry's metrics from its sidecars (`StoreShape.readSidecars`: a remote store's too); none when absent or unreadable. */
export const metricsOf = (sidecars: ReadonlyMap<string, Uint8Array>): ReadonlyArray<MetricRecord> => {
  const bytes = sidecars.get(METRICS_FILE)
  return bytes === undefined ? [] : parseMetrics(new TextDecoder().decode(bytes))
}

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
