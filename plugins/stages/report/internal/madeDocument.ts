/**
 * "How this report was made" (issue 12, part 7): machine, software, commit,
 * time, every stage's time (marked when measured while other stages ran)
 * and its resolved hyperparameters; and the marks the tables put on times
 * measured concurrently.
 */
import type { Block, Section } from "./document.ts"
import { seconds } from "./format.ts"
import type { ReportModel } from "./model.ts"

const p = (text: string): Block => ({ _tag: "Paragraph", text })

/** A config as one line of `field=value` pairs (nested objects and arrays as compact JSON). */
export const configText = (config: unknown): string => {
  if (config === null || typeof config !== "object" || Array.isArray(config)) return JSON.stringify(config) ?? "—"
  const entries = Object.entries(config as Record<string, unknown>)
  return entries.length === 0 ? "(no fields)" : entries.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")
}

/**
 * Whether a node's time was measured while another node computed: true /
 * false from the run's timings; null when unknown (no run facts, or the node
 * is not in this run).
 */
export const concurrentOf = (m: ReportModel) => {
  const nodes = new Map((m.made?.run?.nodes ?? []).map((n) => [n.node, n]))
  const strip = (item: string) => item.replace(/\[.*\]$/, "")
  return {
    /** The node itself (an evaluation item such as `eval-ours[fashion-mnist]` is looked up as is). */
    self: (node: string): boolean | null => {
      const n = nodes.get(node) ?? nodes.get(strip(node))
      return n === undefined || n.seconds === null ? null : n.concurrent
    },
    /** The node's first upstream node (the model an evaluation scored, the adapted teacher a top-1 read). */
    upstream: (node: string): boolean | null => {
      const n = nodes.get(node) ?? nodes.get(strip(node))
      const up = n?.deps[0] === undefined ? undefined : nodes.get(n.deps[0])
      return up === undefined || up.seconds === null ? null : up.concurrent
    },
  }
}

/** A time with a mark when it was measured concurrently: "12.5*". */
export const markedSeconds = (s: number, concurrent: ReadonlyArray<boolean | null>): string => `${seconds(s)}${concurrent.some((c) => c === true) ? "*" : ""}`

/** The sentence explaining the mark. */
export const concurrencyNote = (m: ReportModel): string =>
  m.made?.run == null
    ? "Times were not checked for concurrency (no run facts: rendered outside the executor or in a pool worker); stages may have run at once."
    : "Times marked * were measured while other stages computed at the same time (their intervals overlap; see How this report was made), so they are not comparable with times measured alone."

/** A node's backend, "as above" when it is the report's own (named in full in the machine table). */
const backendText = (b: string | null, report: string): string => (b === null ? "—" : b === report ? "as above" : b)

export const madeSection = (m: ReportModel): Section => {
  const d = m.made
  if (d === null) return { id: "made", heading: "How this report was made", blocks: [{ _tag: "NotRun", text: "rendered outside a pipeline stage: machine, commit and run facts were not recorded." }] }
  const run = d.run
  const facts: Array<[string, string]> = [
    ["rendered at (UTC)", d.renderedAt],
    ["git commit", d.commit === null ? "unknown (no git checkout found)" : `${d.commit}${d.branch === null ? "" : ` (branch ${d.branch})`}`],
    ["tensor backend", d.backend],
    ...Object.entries(d.versions).map(([k, v]): [string, string] => [k === "node" ? "Node.js" : k, v]),
    ["CPU", `${d.cpu} (${d.cores} logical cores)`],
    ["platform", d.platform],
  ]
  if (run !== null) {
    facts.push(
      ["pipeline", `${run.pipeline}${run.preset === null ? "" : ` (preset ${run.preset})`}`],
      ["run started (UTC)", run.startedAt],
      ["wall time of this run up to the report", `${seconds(run.wallSeconds)} s`],
      ["compute time of every stage (this run and the cached entries' original runs)", `${seconds(run.computeSeconds)} s`],
      ["concurrency", `${run.workers} fan-out items at once; worker-thread pool: ${run.pool}`],
    )
    const adopted = run.nodes.flatMap((n) => (n.computedWithCode === null ? [] : [n.computedWithCode.slice(0, 12)]))
    if (adopted.length > 0) {
      const codes = [...new Set(adopted)]
      facts.push([
        "entries adopted from older code (ssl-kd cache adopt)",
        `${adopted.length} of ${run.nodes.length} stages, computed by code ${codes.join(", ")}: same config, data and inputs, other code than this checkout's`,
      ])
    }
  }
  const blocks: Array<Block> = [
    p("When the report was rendered, by what and where. A report served from the cache keeps what was true when it was rendered. Cached stages show the time of the run that computed them."),
    { _tag: "Table", table: { caption: "Machine, software and run", header: ["what", "value"], numeric: [false, false], prose: [true, true], rows: facts.map(([k, v]) => [k, v]) } },
  ]
  if (run === null) {
    blocks.push({ _tag: "NotRun", text: "the run's stages and hyperparameters are not known here (rendered outside the executor, or in a pool worker)." })
    return { id: "made", heading: "How this report was made", blocks }
  }
  blocks.push(
    p(concurrencyNote(m)),
    {
      _tag: "Table",
      table: {
        caption: "Stage times",
        header: ["node", "stage", "status", "time (s)", "measured concurrently", "peak RSS (MiB)", "backend", "started (UTC)"],
        numeric: [false, false, false, true, false, true, false, false],
        rows: run.nodes.map((n) => [
          n.node,
          n.stage,
          n.status === "cached" ? "cached" : "ran",
          n.seconds === null ? "—" : seconds(n.seconds),
          n.seconds === null ? "—" : n.concurrent ? "yes*" : "no",
          n.peakRssBytes === null ? "—" : (n.peakRssBytes / 2 ** 20).toFixed(0),
          backendText(n.backend, d.backend),
          n.startedAt ?? "—",
        ]),
      },
    },
    p("The resolved hyperparameters of every stage: its config with defaults, preset and command-line overrides applied (what its cache key was computed from)."),
    {
      _tag: "Table",
      table: {
        caption: "Hyperparameters (resolved configs)",
        header: ["node", "stage", "config"],
        numeric: [false, false, false],
        prose: [false, false, true],
        rows: run.nodes.map((n) => [n.node, n.stage, configText(n.config)]),
      },
    },
  )
  return { id: "made", heading: "How this report was made", blocks }
}
