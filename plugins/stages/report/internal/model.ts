/**
 * The report's numbers, computed from the gathered artifacts (pure; written
 * as `report.json`): the gates and the claims' verdicts, Table 1 rows (and
 * the teachers after joint training), Table 2 rows with the difference to
 * the baseline, the exploratory ablation tables (labels `x-<group>-<value>`),
 * Figure 3's bars, the per-class table, Figure 1's curves with the uniform
 * and random-init references, the eq. 2 head tables, and how the report was
 * made. Runs of one label on one dataset (several seeds) are aggregated:
 * mean, and sample standard deviation when there are two or more; each
 * run's seed is kept for pairing.
 */
import { Schema } from "effect"
import type { ManyValue } from "../../../../dsl/Artifact.ts"
import { Config } from "../../../../dsl/index.ts"
import type { HeadSelection } from "../../paper/acSelect.ts"
import type { AdaptationScore } from "../../paper/evaluate.ts"
import type { DownstreamScore } from "../../paper/scores.ts"
import type { AttentionDistances } from "../../teachers/analysis/attentionStage.ts"
import { deepMean } from "../../teachers/analysis/figureStage.ts"
import type { KnnReport } from "../../teachers/analysis/knnStage.ts"
import type { TeacherWeights } from "../../../teachers/artifact.ts"
import type { DistilledStudent } from "../../paper/distilledArtifact.ts"
import { type LossCurves, lossCurves } from "./losses.ts"
import { type Claim, claims } from "./claims.ts"
import { type Gate, gates, isRandomInit } from "./gates.ts"
import type { MadeWith } from "./provenance.ts"
import { uniformAttentionDistance } from "./references.ts"
import type { Arm } from "./verdict.ts"

const Points = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/** `paper/report`'s config. */
export const ReportConfig = Schema.Struct({
  title: Config.withDefault(Schema.String, "Knowledge distillation from a contrastive and a masked-image-modeling teacher: results"),
  /** Dataset of Table 2 and of the per-class table (the one the students were trained on). */
  primaryDataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** The `label` of the student trained without distillation; Table 2's differences are taken to it. */
  baseline: Config.withDefault(Schema.String, "baseline"),
  /** Free text shown under the title (e.g. what changed since the last run); blank lines separate paragraphs. */
  notes: Config.withDefault(Schema.String, ""),
  /** Gate 1: each SSL teacher's k-NN top-1 must beat the random-init ViT's by at least this many points. */
  gateKnnOverRandomPoints: Config.withDefault(Points, 5),
  /** Gate 2: each teacher's Partial-1 top-1 at most this many points below its full fine-tuning. */
  gatePartialVsFullPoints: Config.withDefault(Points, 3),
  /** Gate 3: each student's head top-1 at most this many points below its own k-NN top-1. */
  gateHeadVsKnnPoints: Config.withDefault(Points, 3),
  /** Claims: significance level and power (for the smallest detectable difference). */
  claimAlpha: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)), 0.05),
  claimPower: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)), 0.8),
  /** Claim (a): "Partial-1 ≈ fine-tuning" within this many points; "Partial-1 >> linear" by at least this many. */
  claimClosePoints: Config.withDefault(Points, 3),
  claimLargeGapPoints: Config.withDefault(Points, 5),
  /** Claim (e): the smallest mean deep-layer difference in attention distance (px) that counts. */
  claimAttentionGapPx: Config.withDefault(Points, 0.5),
  /** Claim (b): the label of the joint distillation (eq. 4) and of the single-teacher KD arms. */
  ours: Config.withDefault(Schema.String, "ours"),
  singleTeacherArms: Config.withDefault(Schema.Array(Schema.String), ["kd-dino", "kd-mae"]),
  /** Side of the (square) images the attention distances were measured on, for the uniform-attention reference of Figure 1. */
  imageSize: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 28),
})
export type ReportConfig = typeof ReportConfig.Type

/** What the report gathers: every input may be empty (that part is reported as not run). */
export interface ReportInputs {
  readonly adaptation: ManyValue<typeof AdaptationScore>
  readonly scores: ManyValue<typeof DownstreamScore>
  readonly attention: ManyValue<typeof AttentionDistances>
  readonly heads: ManyValue<typeof HeadSelection>
  /** k-NN top-1 of the SSL teachers and of the random-init ViT (`teachers/knn`): gate 1. */
  readonly knn?: ManyValue<typeof KnnReport>
  /** The teachers' top-1 after joint training (`top1-ours-<teacher>`, `paper/evaluate-teacher`). */
  readonly jointTeachers?: ManyValue<typeof AdaptationScore>
  /** Exploratory ablation scores (labels `x-<group>-<value>`); merged with `scores`. */
  readonly ablations?: ManyValue<typeof DownstreamScore>
  /** The SSL teachers' pretraining results and the students, for their recorded loss curves. */
  readonly pretraining?: ManyValue<typeof TeacherWeights>
  readonly students?: ManyValue<typeof DistilledStudent>
}

/** A row of Table 1 (sec. 3.1): one teacher adapted one way. */
export interface Table1Row {
  readonly node: string
  readonly teacher: string
  readonly family: string
  readonly mode: string
  readonly dataset: string
  readonly testImages: number
  readonly trainable: number
  readonly total: number
  /** trainable / total. */
  readonly trainableShare: number
  readonly top1: number
  readonly trainTop1: number
  readonly seed: number
  readonly adaptationSeconds: number
}

/** The runs of one label on one dataset (one per seed, usually), aggregated. */
export interface ScoreGroup {
  readonly label: string
  readonly dataset: string
  readonly nodes: ReadonlyArray<string>
  readonly models: ReadonlyArray<string>
  readonly protocols: ReadonlyArray<string>
  readonly classes: ReadonlyArray<string>
  readonly runs: number
  readonly seeds: ReadonlyArray<number>
  /** Each run's top-1 and k-NN top-1 by its seed (the pairing key across arms), in seed order. */
  readonly perSeed: ReadonlyArray<{ readonly seed: number; readonly node: string; readonly top1: number; readonly knnTop1: number }>
  /** Mean over runs; `top1Std` is the sample standard deviation (null for one run). */
  readonly top1: number
  readonly top1Std: number | null
  readonly knnTop1: number
  /** Per class (in `classes` order), mean over runs. */
  readonly perClass: ReadonlyArray<number>
  readonly trainImages: ReadonlyArray<number>
  readonly testImages: ReadonlyArray<number>
  /** Mean over runs of the model's training time and of this evaluation's time. */
  readonly trainingSeconds: number
  readonly evalSeconds: number
}

/** A row of Table 2: a score group on the primary dataset and its difference to the baseline. */
export interface Table2Row extends ScoreGroup {
  /** (top1 - baseline top1) x 100; null for the baseline itself or when no baseline was evaluated. */
  readonly deltaPoints: number | null
}

export interface Figure3Dataset {
  readonly dataset: string
  readonly protocols: ReadonlyArray<string>
  /** One entry per label of `ReportModel.labels` (null: that label was not evaluated here). */
  readonly bars: ReadonlyArray<ScoreGroup | null>
}

export interface PerClassTable {
  readonly dataset: string
  readonly classes: ReadonlyArray<string>
  readonly labels: ReadonlyArray<string>
  /** [class][label], mean over runs; null where a label's classes lack that class. */
  readonly values: ReadonlyArray<ReadonlyArray<number | null>>
}

export interface Figure1Curve {
  readonly node: string
  readonly teacher: string
  readonly family: string
  readonly patchSize: number
  readonly images: number
  readonly layers: ReadonlyArray<number>
  readonly mean: ReadonlyArray<number>
  /** Mean over the deeper half of the layers (figureStage's `deepMean`). */
  readonly deepMean: number
}

export interface Figure1 {
  readonly curves: ReadonlyArray<Figure1Curve>
  /** Uniform attention's mean distance (px, class token excluded as in `attentionDistance`) on the curves' grid, when one grid is shared. */
  readonly uniform: { readonly px: number; readonly grid: number; readonly patchSize: number } | null
  /** The paper's observation tested on the first contrastive and the first MIM curve, when both exist. */
  readonly observation: { readonly contrastive: string; readonly masked: string; readonly holds: boolean; readonly text: string } | null
}

export interface HeadTable {
  readonly node: string
  readonly teacher: string
  readonly layer: number
  readonly perHead: ReadonlyArray<number>
  readonly best: number
  readonly images: number
  readonly queries: string
  readonly dataset: string
}

/** An exploratory ablation (labels `x-<group>-<value>`, e.g. `x-lambda2-0.5` in group `lambda2`). */
export interface AblationTable {
  readonly group: string
  /** Rows in value order (numeric when the values are numbers). */
  readonly rows: ReadonlyArray<ScoreGroup & { readonly value: string }>
}

/** A teacher's k-NN result (gate 1). */
export interface KnnRow {
  readonly node: string
  readonly teacher: string
  readonly family: string
  readonly dataset: string
  readonly pooling: string
  readonly top1: number
  readonly testImages: number
  readonly randomInit: boolean
}

/** Everything the report shows, as numbers (`report.json`). Accuracies are fractions in [0, 1]. */
export interface ReportModel {
  readonly config: ReportConfig
  readonly gates: ReadonlyArray<Gate>
  /** True when a gate failed: Table 2 is then not a test of the paper. */
  readonly gateFailed: boolean
  readonly claims: ReadonlyArray<Claim>
  readonly knn: ReadonlyArray<KnnRow>
  readonly jointTeachers: ReadonlyArray<Table1Row>
  readonly ablations: ReadonlyArray<AblationTable>
  readonly losses: LossCurves
  /** How the report was made; null when rendered outside a stage. */
  readonly made: MadeWith | null
  readonly table1: ReadonlyArray<Table1Row>
  /** Every label, in report order: the baseline, `kd-*`, `ours`, then the rest (alphabetical within each). */
  readonly labels: ReadonlyArray<string>
  readonly table2: { readonly dataset: string; readonly baselineFound: boolean; readonly rows: ReadonlyArray<Table2Row> }
  readonly figure3: ReadonlyArray<Figure3Dataset>
  readonly perClass: PerClassTable | null
  readonly figure1: Figure1
  readonly heads: ReadonlyArray<HeadTable>
  /** The parts with no inputs: `table1`, `table2`, `figure3`, `figure1`, `heads`. */
  readonly notRun: ReadonlyArray<string>
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Report order of labels: the baseline, single-teacher KD (`kd-*`), `ours`, then any other, the exploratory `x-*` last. */
export const labelRank = (baseline: string) => (label: string): number =>
  label === baseline ? 0 : label.startsWith("kd-") || label === "kd" ? 1 : label === "ours" ? 2 : label.startsWith("x-") ? 4 : 3

/** Sort comparator of labels in report order ({@link labelRank}, then alphabetical). */
export const compareLabels = (baseline: string) => {
  const rank = labelRank(baseline)
  return (a: string, b: string): number => rank(a) - rank(b) || byText(a, b)
}

const familyRank = (f: string): number => (f === "contrastive" ? 0 : f === "masked-image-modeling" ? 1 : 2)

/** Adaptation modes in Table 1's order: linear, partial-1, partial-2, ..., full, then any other. */
const modeRank = (m: string): number => {
  if (m === "linear") return 0
  const k = /^partial-(\d+)$/.exec(m)
  if (k?.[1] !== undefined) return 1 + Number(k[1]) / 1e6
  return m === "full" ? 2 : 3
}

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

const sampleStd = (xs: ReadonlyArray<number>): number | null => {
  if (xs.length < 2) return null
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

const unique = <A>(xs: ReadonlyArray<A>): ReadonlyArray<A> => [...new Set(xs)]

const table1 = (items: ReportInputs["adaptation"]): ReadonlyArray<Table1Row> =>
  items
    .map(({ item, value: v }) => ({
      node: item,
      teacher: v.teacher,
      family: v.family,
      mode: v.mode,
      dataset: v.dataset,
      testImages: v.testImages,
      trainable: v.trainable,
      total: v.total,
      trainableShare: v.total > 0 ? v.trainable / v.total : 0,
      top1: v.top1,
      trainTop1: v.trainTop1,
      seed: v.seed,
      adaptationSeconds: v.adaptationSeconds,
    }))
    .sort((a, b) => familyRank(a.family) - familyRank(b.family) || byText(a.teacher, b.teacher) || modeRank(a.mode) - modeRank(b.mode) || byText(a.mode, b.mode) || byText(a.dataset, b.dataset) || byText(a.node, b.node))

/**
 * Each run's seed for pairing: the seed its score records (the student's
 * `distillation.seed`); when two runs of a label record the same seed, the
 * node name's `-s<seed>` suffix (pipelines/parts.ts `studentNode`) decides,
 * and a run still colliding is left out of the pairing (not of the mean).
 */
const pairingSeeds = (runs: ReportInputs["scores"]): ScoreGroup["perSeed"] => {
  const out = new Map<number, ScoreGroup["perSeed"][number]>()
  for (const r of runs) {
    const suffix = /-s(\d+)(?:\[|$)/.exec(r.item)?.[1]
    const seed = !out.has(r.value.seed) ? r.value.seed : suffix !== undefined && !out.has(Number(suffix)) ? Number(suffix) : undefined
    if (seed !== undefined) out.set(seed, { seed, node: r.item, top1: r.value.top1, knnTop1: r.value.knnTop1 })
  }
  return [...out.values()].sort((a, b) => a.seed - b.seed)
}

const scoreGroups = (items: ReportInputs["scores"]): ReadonlyArray<ScoreGroup> => {
  const groups = new Map<string, Array<ReportInputs["scores"][number]>>()
  for (const s of items) {
    const key = JSON.stringify([s.value.label, s.value.dataset])
    groups.set(key, [...(groups.get(key) ?? []), s])
  }
  return [...groups.values()].flatMap((runs) => {
    const sorted = [...runs].sort((a, b) => a.value.seed - b.value.seed || byText(a.item, b.item))
    const first = sorted[0]?.value
    if (first === undefined) return []
    const vs = sorted.map((r) => r.value)
    const classes = first.classes
    return [
      {
        label: first.label,
        dataset: first.dataset,
        nodes: sorted.map((r) => r.item),
        models: unique(vs.map((v) => v.model)),
        protocols: unique(vs.map((v) => v.protocol)),
        classes,
        runs: vs.length,
        seeds: unique(vs.map((v) => v.seed)),
        perSeed: pairingSeeds(sorted),
        top1: mean(vs.map((v) => v.top1)),
        top1Std: sampleStd(vs.map((v) => v.top1)),
        knnTop1: mean(vs.map((v) => v.knnTop1)),
        // Runs whose class list differs from the first's are matched by class name.
        perClass: classes.map((c) => mean(vs.flatMap((v) => v.perClass.filter((_, i) => v.classes[i] === c)))),
        trainImages: unique(vs.map((v) => v.trainImages)),
        testImages: unique(vs.map((v) => v.testImages)),
        trainingSeconds: mean(vs.map((v) => v.trainingSeconds)),
        evalSeconds: mean(vs.map((v) => v.seconds)),
      },
    ]
  })
}

const figure1 = (items: ReportInputs["attention"], imageSize: number): Figure1 => {
  const curves = items
    .map(({ item, value: c }) => ({ node: item, teacher: c.teacher, family: c.family, patchSize: c.patchSize, images: c.images, layers: c.layers, mean: c.mean, deepMean: deepMean(c) }))
    .sort((a, b) => familyRank(a.family) - familyRank(b.family) || byText(a.teacher, b.teacher) || byText(a.node, b.node))
  const cl = curves.find((c) => c.family === "contrastive")
  const mim = curves.find((c) => c.family === "masked-image-modeling")
  const observation =
    cl === undefined || mim === undefined || cl.mean.length === 0 || mim.mean.length === 0
      ? null
      : {
          contrastive: cl.teacher,
          masked: mim.teacher,
          holds: cl.deepMean > mim.deepMean,
          text: `Deep layers (upper half): ${cl.teacher} ${cl.deepMean.toFixed(2)} px vs ${mim.teacher} ${mim.deepMean.toFixed(2)} px: the paper's observation (the contrastive teacher attends more globally in deep layers) ${cl.deepMean > mim.deepMean ? "holds" : "does not hold"} here.`,
        }
  const patches = unique(curves.map((c) => c.patchSize))
  const patch = patches[0]
  const grid = patch === undefined ? 0 : Math.floor(imageSize / patch)
  const uniform = patches.length === 1 && patch !== undefined && grid >= 1 ? { px: uniformAttentionDistance(grid, patch), grid, patchSize: patch } : null
  return { curves, uniform, observation }
}

/** Ablation tables from the `x-<group>-<value>` labels on the primary dataset. */
const ablationTables = (primary: ReadonlyArray<ScoreGroup>): ReadonlyArray<AblationTable> => {
  const tables = new Map<string, Array<ScoreGroup & { value: string }>>()
  for (const g of primary) {
    const m = /^x-(.+)-([^-]+)$/.exec(g.label)
    if (m?.[1] === undefined || m[2] === undefined) continue
    tables.set(m[1], [...(tables.get(m[1]) ?? []), { ...g, value: m[2] }])
  }
  const num = (v: string) => (v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : NaN)
  return [...tables.entries()]
    .sort(([a], [b]) => byText(a, b))
    .map(([group, rows]) => ({ group, rows: rows.sort((a, b) => (Number.isNaN(num(a.value)) || Number.isNaN(num(b.value)) ? byText(a.value, b.value) : num(a.value) - num(b.value))) }))
}

/** An arm for the claims: a score group's top-1 by pairing seed. */
const armOf = (g: ScoreGroup): Arm => ({ label: g.label, bySeed: new Map(g.perSeed.map((r) => [r.seed, r.top1])), testImages: Math.min(...g.testImages) })

/** The report's numbers from its inputs. */
export const reportModel = (inputs: ReportInputs, config: ReportConfig, made: MadeWith | null = null): ReportModel => {
  const cmp = compareLabels(config.baseline)
  const groups = scoreGroups([...inputs.scores, ...(inputs.ablations ?? [])])
  // Figure 3 and the label order cover the main arms; the exploratory `x-` arms have their ablation tables.
  const labels = unique(groups.filter((g) => !g.label.startsWith("x-")).map((g) => g.label)).slice().sort(cmp)
  const primaryAll = groups.filter((g) => g.dataset === config.primaryDataset).sort((a, b) => cmp(a.label, b.label))
  // Table 2 shows the main arms; the exploratory `x-` arms get their ablation tables.
  const primary = primaryAll.filter((g) => !g.label.startsWith("x-"))
  const base = primary.find((g) => g.label === config.baseline)
  const rows = primary.map((g) => ({ ...g, deltaPoints: base === undefined || g === base ? null : (g.top1 - base.top1) * 100 }))
  const datasets = unique(groups.filter((g) => !g.label.startsWith("x-")).map((g) => g.dataset))
    .slice()
    .sort((a, b) => Number(b === config.primaryDataset) - Number(a === config.primaryDataset) || byText(a, b))
  const figure3 = datasets.map((d) => {
    const here = groups.filter((g) => g.dataset === d && !g.label.startsWith("x-"))
    return { dataset: d, protocols: unique(here.flatMap((g) => g.protocols)).slice().sort(byText), bars: labels.map((l) => here.find((g) => g.label === l) ?? null) }
  })
  const classes = unique(primary.flatMap((g) => g.classes))
  const perClass =
    primary.length === 0
      ? null
      : {
          dataset: config.primaryDataset,
          classes,
          labels: primary.map((g) => g.label),
          values: classes.map((c) =>
            primary.map((g) => {
              const i = g.classes.indexOf(c)
              return i < 0 ? null : (g.perClass[i] ?? null)
            }),
          ),
        }
  const heads = inputs.heads
    .map(({ item, value: h }) => ({ node: item, teacher: h.teacher, layer: h.layer, perHead: h.perHead, best: h.best, images: h.images, queries: h.queries, dataset: h.dataset }))
    .sort((a, b) => byText(a.teacher, b.teacher) || a.layer - b.layer || byText(a.node, b.node))
  const notRun = [
    ...(inputs.adaptation.length === 0 ? ["table1"] : []),
    ...(primary.length === 0 ? ["table2"] : []),
    ...(groups.length === 0 ? ["figure3"] : []),
    ...(inputs.attention.length === 0 ? ["figure1"] : []),
    ...(inputs.heads.length === 0 ? ["heads"] : []),
  ]
  const t1 = table1(inputs.adaptation)
  const fig1 = figure1(inputs.attention, config.imageSize)
  const knn = (inputs.knn ?? [])
    .map(({ item, value: k }) => ({ node: item, teacher: k.teacher, family: k.family, dataset: k.dataset, pooling: k.pooling, top1: k.top1, testImages: k.testImages, randomInit: isRandomInit(k) }))
    .sort((a, b) => Number(a.randomInit) - Number(b.randomInit) || familyRank(a.family) - familyRank(b.family) || byText(a.teacher, b.teacher) || byText(a.pooling, b.pooling))
  const gs = gates(
    {
      knn,
      adaptation: t1,
      students: primary.flatMap((g) => (g.protocols.includes("head") ? g.perSeed.map((r) => ({ label: g.label, seed: r.seed, protocol: "head", top1: r.top1, knnTop1: r.knnTop1 })) : [])),
    },
    { knnOverRandom: config.gateKnnOverRandomPoints, partialVsFull: config.gatePartialVsFullPoints, headVsKnn: config.gateHeadVsKnnPoints },
  )
  const cs = claims(
    { arms: new Map(primaryAll.map((g) => [g.label, armOf(g)])), adaptation: t1, heads, curves: fig1.curves, uniformPx: fig1.uniform?.px ?? null },
    {
      alpha: config.claimAlpha,
      power: config.claimPower,
      closePoints: config.claimClosePoints,
      largeGapPoints: config.claimLargeGapPoints,
      attentionGapPx: config.claimAttentionGapPx,
      ours: config.ours,
      baseline: config.baseline,
      singleTeacher: config.singleTeacherArms,
    },
  )
  return {
    config,
    gates: gs,
    gateFailed: gs.some((g) => g.status === "failed"),
    claims: cs,
    knn,
    jointTeachers: table1(inputs.jointTeachers ?? []),
    ablations: ablationTables(primaryAll),
    losses: lossCurves(inputs.pretraining ?? [], inputs.students ?? []),
    made,
    table1: t1,
    labels,
    table2: { dataset: config.primaryDataset, baselineFound: base !== undefined, rows },
    figure3,
    perClass,
    figure1: fig1,
    heads,
    notRun,
  }
}
