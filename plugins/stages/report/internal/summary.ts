/**
 * The report's terminal summary (`Stage.summary`, printed by `ssl-kd run`
 * after every run, cached or not): Table 2 on the primary dataset, the
 * Figure 3 numbers per downstream dataset, and Table 1, as fixed-width text
 * read back from `report.json`.
 */
import type { ReportModel } from "./model.ts"
import { seedWords } from "./format.ts"

const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "n/a" : (x * 100).toFixed(2))
const signed = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "—" : `${x >= 0 ? "+" : ""}${x.toFixed(2)}`)

const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? []
  return rows.map((r) => "  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")).join("\n")
}

/** Text tables from the report's model; "" when it holds nothing to show. */
export const summaryText = (m: Pick<ReportModel, "table1" | "table2" | "figure3" | "labels"> & Partial<Pick<ReportModel, "claims" | "gates" | "gateFailed">>): string => {
  const parts: Array<string> = []
  if (m.claims !== undefined && m.claims.length > 0) {
    parts.push("Claims (verdicts by code; details in the report)")
    const w = Math.max(...m.claims.map((c) => c.verdict.length))
    parts.push(m.claims.map((c) => `  (${c.id})  ${c.verdict.padEnd(w)}  ${c.statement}`).join("\n"))
  }
  if (m.gates !== undefined && m.gates.length > 0) {
    parts.push(`Gates${m.gateFailed === true ? ": a gate FAILED, Table 2 is not a test of the paper" : ""}`)
    const w = Math.max(...m.gates.map((g) => g.status.length))
    parts.push(m.gates.map((g) => `  ${g.status.padEnd(w)}  ${g.statement}`).join("\n"))
  }
  if (m.table2.rows.length > 0) {
    parts.push(`Table 2 analog: top-1 (%) on ${m.table2.dataset}`)
    parts.push(
      table([
        ["label", "protocol", "top-1", "Δ pt", "k-NN", "runs"],
        ...m.table2.rows.map((r) => [
          r.label,
          [...new Set(r.protocols)].join("/"),
          r.top1Std === null ? pct(r.top1) : `${pct(r.top1)} ± ${(r.top1Std * 100).toFixed(2)}`,
          signed(r.deltaPoints),
          pct(r.knnTop1),
          r.seeds.length === 0 ? "—" : seedWords(r.seeds),
        ]),
      ]),
    )
  }
  if (m.figure3.length > 1) {
    parts.push("Figure 3 analog: top-1 (%) per downstream dataset")
    parts.push(
      table([
        ["dataset", "protocol", ...m.labels],
        ...m.figure3.map((d) => [d.dataset, [...new Set(d.protocols)].join("/"), ...m.labels.map((l) => pct(d.bars.find((b) => b?.label === l)?.top1))]),
      ]),
    )
  }
  if (m.table1.length > 0) {
    parts.push("Table 1 analog: adapted teachers, test top-1 (%)")
    parts.push(table([["teacher", "mode", "trainable", "top-1"], ...m.table1.map((r) => [r.teacher, r.mode, r.trainable.toLocaleString("en-US"), pct(r.top1)])]))
  }
  return parts.join("\n")
}
