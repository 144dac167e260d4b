/**
 * `paper/report`: the paper's tables and figures from this project's
 * results, gathered from many nodes, opened by a Claims section (each claim
 * of the paper marked reproduced / not reproduced / inconclusive / not
 * tested by code, with paired statistics over seeds) and the gates checked
 * before Table 2 is read, and closed by how the report was made (machine,
 * versions, commit, stage times, resolved hyperparameters):
 *
 * - `adaptation` (`AdaptationScore`, `paper/evaluate-teacher`): Table 1,
 *   teacher x mode (linear / Partial-k / full), trainable parameters and
 *   their share of the total, test top-1;
 * - `scores` (`DownstreamScore`, `paper/evaluate`): Table 2 (one row per
 *   label on `primaryDataset`, difference to the baseline in percentage
 *   points), Figure 3 (grouped bars per downstream dataset, protocol stated)
 *   and a per-class table; runs of one label (seeds) are averaged;
 * - `attention` (`AttentionDistances`): Figure 1, mean attention distance per
 *   layer, one line per teacher (the chart of `teachers/attention-figure`);
 * - `heads` (`HeadSelection`, `paper/ac-select`): eq. 2 tables, C_h per head
 *   with the chosen head marked;
 * - `knn` (`KnnReport`, `teachers/knn`): the SSL teachers' and the
 *   random-init ViT's k-NN top-1 (gate 1);
 * - `jointTeachers` (`AdaptationScore`, nodes `top1-ours-<teacher>`): the
 *   teachers' top-1 after the one-stage joint training;
 * - `ablations` (`DownstreamScore`, labels `x-<group>-<value>`): the
 *   exploratory ablation tables and claims (c) and (d); `x-` labels given
 *   in `scores` are treated the same;
 * - `pretraining` (`TeacherWeights` of `teachers/pretrain-*`) and `students`
 *   (`DistilledStudent`): their recorded per-step losses, drawn as curves.
 *
 * Any input may be empty: that part says "not run". Output files
 * (`PaperReport`): `report.html` (self-contained: inline CSS and SVGs, no
 * external resources), `report.md` (tables, links to the PNGs),
 * `figure1.svg`/`.png`, `figure3.svg`/`.png`, `report.json` (the numbers,
 * accuracies as fractions).
 *
 * @example
 * const files = yield* renderReport({ adaptation: [], scores, attention: [], heads: [] }, { primaryDataset: "fashion-mnist" })
 * files.get("report.html")
 */
import { Effect, Schema } from "effect"
import { Artifact, Stage, StageContext } from "../../../dsl/index.ts"
import { svgToPng } from "../../analysis/plot.ts"
import { HeadSelection } from "../paper/acSelect.ts"
import { AdaptationScore } from "../paper/evaluate.ts"
import { DownstreamScore } from "../paper/scores.ts"
import { AttentionDistances } from "../teachers/analysis/attentionStage.ts"
import { KnnReport } from "../teachers/analysis/knnStage.ts"
import { TeacherWeights } from "../../teachers/artifact.ts"
import { DistilledStudent } from "../paper/distilledArtifact.ts"
import { ReportRenderError } from "./errors.ts"
import { reportDocument } from "./internal/document.ts"
import { figure1Svg, figure3Svg, lossSvgs } from "./internal/figures.ts"
import { renderHtml } from "./internal/html.ts"
import { renderMarkdown } from "./internal/markdown.ts"
import { ReportConfig, type ReportInputs, type ReportModel, reportModel } from "./internal/model.ts"
import { type MadeWith, madeWith } from "./internal/provenance.ts"
import { summaryText } from "./internal/summary.ts"

export { ReportRenderError } from "./errors.ts"
export { compareLabels, ReportConfig, type ReportInputs, type ReportModel, reportModel } from "./internal/model.ts"
export { seedWords } from "./internal/format.ts"
export type { Claim } from "./internal/claims.ts"
export type { Gate } from "./internal/gates.ts"
export type { Comparison, Verdict } from "./internal/verdict.ts"

/** The report's files: `report.html`, `report.md`, `report.json`, `figure1.svg|png`, `figure3.svg|png`, `losses-teachers.svg|png`, `losses-students.svg|png`. */
export const PaperReport = Artifact.files("PaperReport")

const utf8 = new TextEncoder()

const png = (file: string, svg: string) =>
  Effect.tryPromise({ try: () => svgToPng(svg), catch: (e) => new ReportRenderError({ file, reason: e instanceof Error ? e.message : String(e) }) }).pipe(
    Effect.map((b) => new Uint8Array(b)),
  )

/** The files of a computed report; fails only when a PNG cannot be rendered. */
const reportFiles = (model: ReportModel): Effect.Effect<ReadonlyMap<string, Uint8Array>, ReportRenderError> =>
  Effect.gen(function* () {
    const svgs = { figure1: figure1Svg(model), figure3: figure3Svg(model), ...lossSvgs(model) }
    const doc = reportDocument(model, svgs)
    const [png1, png3, pngT, pngS] = yield* Effect.all([
      png("figure1.png", svgs.figure1),
      png("figure3.png", svgs.figure3),
      png("losses-teachers.png", svgs.lossesTeachers),
      png("losses-students.png", svgs.lossesStudents),
    ])
    return new Map([
      ["report.html", utf8.encode(renderHtml(doc))],
      ["report.md", utf8.encode(renderMarkdown(doc))],
      ["report.json", utf8.encode(JSON.stringify(model, null, 2) + "\n")],
      ["figure1.svg", utf8.encode(svgs.figure1)],
      ["figure1.png", png1],
      ["figure3.svg", utf8.encode(svgs.figure3)],
      ["figure3.png", png3],
      ["losses-teachers.svg", utf8.encode(svgs.lossesTeachers)],
      ["losses-teachers.png", pngT],
      ["losses-students.svg", utf8.encode(svgs.lossesStudents)],
      ["losses-students.png", pngS],
    ])
  })

/**
 * The report's files from its inputs, without the executor. `config` may be
 * partial: missing fields take `ReportConfig`'s defaults; `made` (how it was
 * made) is left out unless given. Fails only when a PNG cannot be rendered.
 */
export const renderReport = (inputs: ReportInputs, config: Partial<ReportConfig> = {}, made: MadeWith | null = null): Effect.Effect<ReadonlyMap<string, Uint8Array>, ReportRenderError> =>
  reportFiles(reportModel(inputs, { ...Schema.decodeUnknownSync(ReportConfig)({}), ...config }, made))

export const paperReport = Stage.make({
  name: "paper/report",
  description: "the paper's Table 1, Table 2, Figure 1, Figure 3 and eq. 2 tables from gathered results (HTML, Markdown, SVG, PNG, JSON)",
  config: ReportConfig,
  inputs: {
    adaptation: Artifact.many(AdaptationScore),
    scores: Artifact.many(DownstreamScore),
    attention: Artifact.many(AttentionDistances),
    heads: Artifact.many(HeadSelection),
    knn: Artifact.many(KnnReport),
    jointTeachers: Artifact.many(AdaptationScore),
    ablations: Artifact.many(DownstreamScore),
    pretraining: Artifact.many(TeacherWeights),
    students: Artifact.many(DistilledStudent),
  },
  output: PaperReport,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const ctx = yield* StageContext
      const m = reportModel(inputs, config, yield* madeWith)
      const files = yield* reportFiles(m)
      yield* ctx.log(
        `report: claims ${m.claims.map((c) => `(${c.id}) ${c.verdict}`).join(", ")}; gates ${m.gates.map((g) => g.status).join("/")}; Table 1 ${m.table1.length} rows, Table 2 ${m.table2.rows.length} rows on ${m.table2.dataset}, Figure 3 ${m.figure3.length} datasets, Figure 1 ${m.figure1.curves.length} curves, eq. 2 ${m.heads.length} tables` +
          (m.notRun.length === 0 ? "" : `; not run: ${m.notRun.join(", ")}`),
      )
      yield* ctx.progress({ done: 1, total: 1 })
      return files
    }),
  summary: (files) => {
    const json = files.get("report.json")
    return json === undefined ? "" : summaryText(JSON.parse(new TextDecoder().decode(json)) as ReportModel)
  },
})
