/**
 * The report's content, independent of the output format: sections of
 * paragraphs, "not run" notes, tables and figures. `html.ts` and
 * `markdown.ts` render the same document, so both say the same thing.
 */
import { ablationsSection, claimsSection, gatesSection } from "./claimsDocument.ts"
import { confidence, count, distinct, pct, pctStd, points, px, seconds, seedWords, share } from "./format.ts"
import { concurrencyNote, concurrentOf, madeSection, markedSeconds } from "./madeDocument.ts"
import type { ReportModel, ScoreGroup, Table1Row } from "./model.ts"

/** A table cell: plain text, or text set in bold with a note after it (the chosen head). */
export type Cell = string | { readonly text: string; readonly strong: true; readonly note: string }

export interface Table {
  readonly caption: string
  readonly header: ReadonlyArray<string>
  /** Right-aligned (numeric) columns. */
  readonly numeric: ReadonlyArray<boolean>
  /** Columns of running text, which may wrap between words; every other column is kept on one line (no breaks inside names such as "masked-image-modeling"). */
  readonly prose?: ReadonlyArray<boolean>
  readonly rows: ReadonlyArray<ReadonlyArray<Cell>>
}

export type Block =
  | { readonly _tag: "Paragraph"; readonly text: string }
  /** A part with no inputs; rendered after a bold "Not run:". */
  | { readonly _tag: "NotRun"; readonly text: string }
  /** Something that changes how a part is read (a failed gate); rendered after a bold "Warning:". */
  | { readonly _tag: "Warning"; readonly text: string }
  | { readonly _tag: "Table"; readonly table: Table }
  | { readonly _tag: "Figure"; readonly svg: string; readonly png: string; readonly svgFile: string; readonly caption: string }

export interface Section {
  readonly id: string
  readonly heading: string
  readonly blocks: ReadonlyArray<Block>
}

export interface ReportDocument {
  readonly title: string
  readonly intro: ReadonlyArray<Block>
  readonly sections: ReadonlyArray<Section>
}

const p = (text: string): Block => ({ _tag: "Paragraph", text })
const notRun = (text: string): Block => ({ _tag: "NotRun", text })
const table = (t: Table): Block => ({ _tag: "Table", table: t })

const protocolText = (protocol: string, trainImages: ReadonlyArray<number>): string =>
  protocol === "head"
    ? "head (the model's own classification head, trained on this dataset)"
    : protocol === "linear-probe"
      ? `linear-probe on frozen features (a linear classifier fitted on the frozen features of ${distinct(trainImages)} training images)`
      : protocol

const seedsText = (g: ScoreGroup): string => seedWords(g.seeds)

const table1Rows = (m: ReportModel, rows: ReadonlyArray<Table1Row>) => {
  const conc = concurrentOf(m)
  return rows.map((r) => [r.teacher, r.family, r.mode, count(r.trainable), share(r.trainableShare), count(r.total), pct(r.top1), pct(r.trainTop1), r.dataset, count(r.testImages), String(r.seed), markedSeconds(r.adaptationSeconds, [conc.upstream(r.node)])])
}

/** The joint run a trained teacher comes from, read from its node `top1-<arm>-<teacher>[-s<seed>]` (e.g. `ours`, `ours-warm-s1`). */
export const jointRun = (r: Table1Row): string => r.node.replace(/^top1-/, "").replace(`-${r.teacher}`, "")

const table1Header = ["teacher", "family", "mode", "trainable params", "% of total", "total params", "test top-1 (%)", "train top-1 (%)", "dataset", "test images", "seed", "adaptation (s)"]
const table1Numeric = [false, false, false, true, true, true, true, true, false, true, false, true]

const table1Section = (m: ReportModel): Section => {
  const adaptation: Array<Block> =
    m.table1.length === 0
      ? [notRun("no teacher-adaptation scores were gathered (wire paper/evaluate-teacher nodes into the report's adaptation input).")]
      : [
          p(
            "Each SSL teacher put on the downstream task by linear evaluation (new head, the rest frozen), Partial-k (the head and the last k blocks trained) or fine-tuning (everything trained), sec. 3.1. " +
              "Top-1 is the adapted teacher's own head on the un-augmented test split; train top-1 on the un-augmented training images after training. " +
              "Trainable parameters are scalar counts (the paper writes millions); the time is the adaptation's training. " +
              concurrencyNote(m),
          ),
          table({ caption: "Table 1: teacher adaptation (top-1 in %)", header: table1Header, numeric: table1Numeric, rows: table1Rows(m, m.table1) }),
          p("Paper (ImageNet-1k, ViT-B/16 teachers): fine-tuning 86.57 M params, DINO 81.92, MAE 81.70; linear 0.77 M, DINO 76.31, MAE 54.02; Partial-1 7.86 M, DINO 80.26, MAE 79.30."),
        ]
  // The joint runs' teachers are shown whether or not Table 1 ran (a pipeline may score only them).
  const joint: Array<Block> =
    m.jointTeachers.length === 0
      ? []
      : [
          p("The teachers after the one-stage joint training (eq. 4 trains each teacher's Partial-1 part together with the student): their own heads' top-1 on the same test split."),
          table({
            caption: "Teachers after joint training (top-1 in %)",
            header: ["run", ...table1Header],
            numeric: [false, ...table1Numeric],
            rows: table1Rows(m, m.jointTeachers).map((row, i) => [jointRun(m.jointTeachers[i] as Table1Row), ...row]),
          }),
        ]
  const blocks: Array<Block> = [...adaptation, ...joint]
  return { id: "table1", heading: "Table 1: adapting the teachers", blocks }
}

const table2Section = (m: ReportModel): Section => {
  const t = m.table2
  const datasets = m.figure3.map((d) => d.dataset)
  if (t.rows.length === 0) {
    const why =
      datasets.length === 0
        ? "no downstream scores were gathered (wire paper/evaluate nodes into the report's scores input)"
        : `no scores on the primary dataset "${t.dataset}" (scores exist for: ${datasets.join(", ")}; set primaryDataset)`
    return { id: "table2", heading: `Table 2: the student on ${t.dataset}`, blocks: [notRun(`${why}.`)] }
  }
  const protocols = [...new Set(t.rows.flatMap((r) => r.protocols))]
  const conc = concurrentOf(m)
  const blocks: Array<Block> = [
    ...(m.gateFailed ? [{ _tag: "Warning", text: "not a test of the paper: a gate failed (see Gates), so these numbers cannot confirm or refute the paper's claims." } as const] : []),
    p(
      `One row per model label on ${t.dataset}: ${m.config.baseline} is the student trained alone, kd-<teacher> single-teacher KD, ours the joint distillation from both teachers (eq. 4). ` +
        `Top-1 is measured by ${protocols.map((x) => protocolText(x, t.rows.flatMap((r) => r.trainImages))).join("; ")}. ` +
        "k-NN top-1 is k-NN on the model's frozen features (training-free), for comparison. " +
        "With several runs (seeds) of a label, top-1 is the mean ± the sample standard deviation; times are means per run (training: the model's training; evaluation: this scoring). " +
        (t.baselineFound ? `Δ is the difference to ${m.config.baseline} in percentage points. ` : `No "${m.config.baseline}" row was evaluated on ${t.dataset}, so no differences are given. `) +
        "Paired statistics over seeds are in the Claims section. " +
        concurrencyNote(m),
    ),
    table({
      caption: `Table 2: the student on ${t.dataset} (top-1 in %)${m.gateFailed ? ": not a test of the paper (a gate failed)" : ""}`,
      header: ["label", "model", "protocol", "top-1 (%)", `Δ vs ${m.config.baseline} (pt)`, "k-NN top-1 (%)", "seeds", "runs", "train images", "test images", "training (s)", "evaluation (s)"],
      numeric: [false, false, false, true, true, true, false, true, true, true, true, true],
      prose: [false, true],
      rows: t.rows.map((r) => [
        r.label,
        r.models.join("; "),
        r.protocols.join(", "),
        pctStd(r.top1, r.top1Std),
        r.deltaPoints === null ? (r.label === m.config.baseline ? "—" : "n/a") : points(r.deltaPoints),
        pct(r.knnTop1),
        seedsText(r),
        String(r.runs),
        distinct(r.trainImages),
        distinct(r.testImages),
        markedSeconds(r.trainingSeconds, r.nodes.map(conc.upstream)),
        markedSeconds(r.evalSeconds, r.nodes.map(conc.self)),
      ]),
    }),
    p("Paper (ImageNet-1k, ViT-Ti student): baseline 72.2, KD from DINO 73.1, KD from MAE 73.1, ours (DINO + MAE) 74.4."),
  ]
  return { id: "table2", heading: `Table 2: the student on ${t.dataset}${m.gateFailed ? " (not a test of the paper: a gate failed)" : ""}`, blocks }
}

const perClassSection = (m: ReportModel): Section => {
  const pc = m.perClass
  if (pc === null) return { id: "per-class", heading: `Per-class top-1 on ${m.table2.dataset}`, blocks: [notRun(`no scores on "${m.table2.dataset}".`)] }
  return {
    id: "per-class",
    heading: `Per-class top-1 on ${pc.dataset}`,
    blocks: [
      p("Accuracy per class of the Table 2 protocol, mean over runs; a dash where a model's classes lack that class."),
      table({
        caption: `Per-class top-1 on ${pc.dataset} (%)`,
        header: ["class", ...pc.labels],
        numeric: [false, ...pc.labels.map(() => true)],
        rows: pc.classes.map((c, i) => [c, ...(pc.values[i] ?? []).map((v) => (v === null ? "—" : pct(v)))]),
      }),
    ],
  }
}

const figure3Section = (m: ReportModel, svg: string): Section => {
  const figure: Block = { _tag: "Figure", svg, png: "figure3.png", svgFile: "figure3.svg", caption: "Figure 3 analog: top-1 (%) per downstream dataset, one bar per model label; bars are labelled with their value (one decimal)." }
  if (m.figure3.length === 0) {
    return { id: "figure3", heading: "Figure 3: downstream datasets", blocks: [notRun("no downstream scores were gathered.")] }
  }
  const groups = m.figure3.flatMap((d) => d.bars.flatMap((g) => (g === null ? [] : [g])))
  const sizes = m.figure3.map((d) => {
    const here = d.bars.flatMap((g) => (g === null ? [] : [g]))
    return `${d.dataset}: ${d.protocols.map((x) => protocolText(x, here.flatMap((g) => g.trainImages))).join("; ")}; tested on ${distinct(here.flatMap((g) => g.testImages))} images`
  })
  return {
    id: "figure3",
    heading: "Figure 3: downstream datasets",
    blocks: [
      p(`Protocols and sizes per dataset. ${sizes.join(". ")}.`),
      figure,
      table({
        caption: "Figure 3's numbers (top-1 in %)",
        header: ["dataset", "label", "protocol", "top-1 (%)", "k-NN top-1 (%)", "seeds", "runs", "train images", "test images", "evaluation (s)"],
        numeric: [false, false, false, true, true, false, true, true, true, true],
        rows: groups.map((g) => [g.dataset, g.label, g.protocols.join(", "), pctStd(g.top1, g.top1Std), pct(g.knnTop1), seedsText(g), String(g.runs), distinct(g.trainImages), distinct(g.testImages), seconds(g.evalSeconds)]),
      }),
      p("The paper's Figure 3: over several downstream datasets ours beats single-teacher KD everywhere except DTD and VOC2007."),
    ],
  }
}

const figure1Section = (m: ReportModel, svg: string): Section => {
  const curves = m.figure1.curves
  const figure: Block = { _tag: "Figure", svg, png: "figure1.png", svgFile: "figure1.svg", caption: "Figure 1 analog: mean attention distance (px) per layer, mean over heads, one line per teacher; the legend gives each curve's mean over the deeper half of the layers." }
  if (curves.length === 0) return { id: "figure1", heading: "Figure 1: attention distance per layer", blocks: [notRun("no attention-distance results were gathered.")] }
  const depth = Math.max(...curves.map((c) => c.mean.length))
  return {
    id: "figure1",
    heading: "Figure 1: attention distance per layer",
    blocks: [
      p(
        "For each layer: Σ_k A(q, k) · dist(q, k) in pixels, averaged over query patches, heads and images (the class token is dropped as query and key and each query's weights renormalized over the patches). " +
          curves.map((c) => `${c.teacher}: ${count(c.images)} images, patch ${c.patchSize} px`).join("; ") +
          ". References, dashed: the random-init ViT of the teachers' shape (when measured) and uniform attention " +
          (m.figure1.uniform === null
            ? "(not drawn: the curves do not share one patch size)"
            : `on the ${m.figure1.uniform.grid}x${m.figure1.uniform.grid} grid of ${m.figure1.uniform.patchSize} px patches (${m.config.imageSize} px images), computed analytically as the mean distance between all pairs of patch centres, the query's own patch included: ${px(m.figure1.uniform.px)} px`) +
          ". Curves near the uniform line attend about as globally as uniform attention. Time is not recorded in these results.",
      ),
      figure,
      table({
        caption: "Figure 1's numbers: mean attention distance (px)",
        header: ["layer", ...curves.map((c) => `${c.teacher} (${c.family})`), ...(m.figure1.uniform === null ? [] : ["uniform attention"])],
        numeric: [true, ...curves.map(() => true), ...(m.figure1.uniform === null ? [] : [true])],
        rows: [
          ...Array.from({ length: depth }, (_, i) => [String(i + 1), ...curves.map((c) => (c.mean[i] === undefined ? "—" : px(c.mean[i]))), ...(m.figure1.uniform === null ? [] : [px(m.figure1.uniform.px)])]),
          ["deep-layer mean", ...curves.map((c) => px(c.deepMean)), ...(m.figure1.uniform === null ? [] : [px(m.figure1.uniform.px)])],
        ],
      }),
      p(m.figure1.observation?.text ?? "The paper's observation needs a contrastive and a masked-image-modeling curve; not both are present."),
    ],
  }
}

const headsSection = (m: ReportModel): Section => {
  if (m.heads.length === 0) return { id: "heads", heading: "Eq. 2: attention confidence per head", blocks: [notRun("no head selections were gathered.")] }
  const width = Math.max(...m.heads.map((h) => h.perHead.length))
  return {
    id: "heads",
    heading: "Eq. 2: attention confidence per head",
    blocks: [
      p(
        "C_h = (1/|Q|) Σ_q max_k A_h(q, k), averaged over the calibration images; the head with the highest C_h (in bold, marked chosen) is the one eq. 3 distils. Blocks are counted from 0. " +
          m.heads.map((h) => `${h.node} (${h.teacher}): ${count(h.images)} ${h.dataset} training images, queries ${h.queries}`).join("; ") +
          ". Each row is one selection node: `ac-<teacher>` on the SSL-pretrained teacher (read by the one-stage arms), `ac-<teacher>-p1` on its Partial-1 adaptation (read by ours-warm)" +
          ".",
      ),
      table({
        caption: "Eq. 2: attention confidence C_h",
        header: ["selection", "teacher", "block", ...Array.from({ length: width }, (_, h) => `C_${h}`), "chosen head"],
        numeric: [false, false, true, ...Array.from({ length: width }, () => true), true],
        rows: m.heads.map((h) => [
          h.node,
          h.teacher,
          String(h.layer),
          ...Array.from({ length: width }, (_, i): Cell => {
            const v = h.perHead[i]
            return v === undefined ? "" : i === h.best ? { text: confidence(v), strong: true, note: "(chosen)" } : confidence(v)
          }),
          String(h.best),
        ]),
      }),
    ],
  }
}

const partNames: Readonly<Record<string, string>> = { table1: "Table 1", table2: "Table 2", figure3: "Figure 3", figure1: "Figure 1", heads: "the eq. 2 tables" }

/** The report as a document, given the model and the figures' SVGs. */
const lossesSection = (m: ReportModel, svgs: { readonly lossesTeachers: string; readonly lossesStudents: string }): Section => {
  const l = m.losses
  if (l.teachers.length === 0 && l.students.length === 0) return { id: "losses", heading: "Loss curves", blocks: [notRun("no training results with recorded losses were gathered (wire the pretraining and student nodes into the report's pretraining and students inputs).")] }
  const fig = (svg: string, file: string, caption: string): Block => ({ _tag: "Figure", svg, png: `${file}.png`, svgFile: `${file}.svg`, caption })
  return {
    id: "losses",
    heading: "Loss curves",
    blocks: [
      p(
        "Total training loss as each training stage recorded it per step, averaged over buckets of consecutive steps (at most 100 points per curve); the legend gives the last bucket's mean. " +
          "Totals of different arms sum different terms (CE alone, CE + KD, CE + KD + attention), so compare a curve's shape, not its level across arms. " +
          (l.studentsNotDrawn > 0 ? `Students of further seeds and exploratory arms are not drawn (${l.studentsNotDrawn} runs). ` : "") +
          "The per-step and per-epoch numbers are in report.json (losses).",
      ),
      ...(l.teachers.length === 0 ? [] : [fig(svgs.lossesTeachers, "losses-teachers", "SSL pretraining: total loss per step (bucket means).")]),
      ...(l.students.length === 0 ? [] : [fig(svgs.lossesStudents, "losses-students", "Students: total training loss per step (bucket means), first seed of each main arm.")]),
    ],
  }
}

/** The report as a document, given the model and the figures' SVGs. */
export const reportDocument = (m: ReportModel, svgs: { readonly figure1: string; readonly figure3: string; readonly lossesTeachers: string; readonly lossesStudents: string }): ReportDocument => ({
  title: m.config.title,
  intro: [
    ...m.config.notes
      .split(/\n\s*\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map(p),
    p(
      "Numbers from this project's runs at its own scale (small ViTs, small datasets), not the paper's ImageNet-1k setting; the paper's values are quoted beside each part for orientation. " +
        "Accuracies are top-1 in percent with two decimals; differences in percentage points; times in seconds. " +
        (m.notRun.length === 0 ? "Every part was run." : `Not run: ${m.notRun.map((k) => partNames[k] ?? k).join(", ")}.`),
    ),
  ],
  sections: [
    claimsSection(m),
    gatesSection(m),
    table1Section(m),
    table2Section(m),
    ablationsSection(m),
    figure3Section(m, svgs.figure3),
    perClassSection(m),
    figure1Section(m, svgs.figure1),
    headsSection(m),
    lossesSection(m, svgs),
    madeSection(m),
  ],
})
