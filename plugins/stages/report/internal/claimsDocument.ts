/**
 * The report's Claims section (first), the gates (before Table 2) and the
 * exploratory ablation tables, as document sections.
 */
import type { Block, Cell, Section } from "./document.ts"
import { count, pct, pctStd, points, pValue, seedWords, signedUnit } from "./format.ts"
import type { ReportModel } from "./model.ts"
import type { Comparison, Verdict } from "./verdict.ts"

const p = (text: string): Block => ({ _tag: "Paragraph", text })

const verdictCell = (v: Verdict): Cell => ({ text: v, strong: true, note: "" })

const meanSd = (mean: number | null, sd: number | null, unit: string): string =>
  mean === null ? "—" : `${mean.toFixed(2)}${sd === null ? "" : ` ± ${sd.toFixed(2)}`} ${unit}`

const tText = (c: Comparison): string => (c.test === null ? "—" : `t(${c.test.df}) = ${Number.isFinite(c.test.t) ? c.test.t.toFixed(2) : c.test.t > 0 ? "∞" : "-∞"}`)

/** The rules, stated where the verdicts are read. */
const rules = (m: ReportModel): string => {
  const c = m.config
  return (
    `How verdicts are reached (by code, from the numbers below; alpha = ${c.claimAlpha}, power = ${c.claimPower}). ` +
    "Two arms are paired by seed (same seed: same data order and initialization). A claim that A beats B is reproduced when the paired mean difference has the claimed sign, every seed agrees and the paired t-test gives p < alpha; " +
    "not reproduced when the opposite sign is significant; inconclusive otherwise, including the main arms with one seed. " +
    `The exploratory one-seed ablations (λ2, AC head) decide on a single pair when the difference exceeds the smallest difference the test set can detect (binomial noise of the two accuracies; seed-to-seed noise is not in it). ` +
    `Claim (a) reads Table 1 (one run per mode): "≈" is reproduced when the (1 - alpha) interval of Partial-1 minus fine-tuning lies above -${c.claimClosePoints} pt and not reproduced when it lies below; ` +
    `">>" is reproduced when Partial-1 minus linear is significant and at least ${c.claimLargeGapPoints} pt, not reproduced when the interval rules out ${c.claimLargeGapPoints} pt. ` +
    "Claim (d) is reproduced when no other head is significantly better than the AC head and the AC head is significantly better than at least one; not reproduced when another head is significantly better. " +
    `Claim (e) compares the deeper half of Figure 1's layers: reproduced when every deep layer agrees and the mean difference exceeds ${c.claimAttentionGapPx} px, not reproduced when every layer has the opposite sign beyond it, inconclusive when both teachers lie within ${c.claimAttentionGapPx} px of uniform attention. ` +
    "A claim with several comparisons is not reproduced when any is, reproduced when all are; a claim whose inputs this run lacks is not tested. " +
    "The smallest detectable difference: for n >= 2 paired seeds (t_{1-alpha/2, n-1} + t_{power, n-1}) · sd(differences) / sqrt(n); for a single pair (z_{1-alpha/2} + z_{power}) · sqrt(p1(1-p1)/N1 + p2(1-p2)/N2)."
  )
}

/** The Claims section: a verdict per claim, then every comparison behind it. */
export const claimsSection = (m: ReportModel): Section => {
  const comparisons = m.claims.flatMap((c) => c.comparisons.map((x) => ({ id: c.id, x })))
  const blocks: Array<Block> = [
    p(rules(m)),
    ...(m.gateFailed ? [{ _tag: "Warning", text: "a gate failed (see Gates): the verdicts on Table 2's arms do not test the paper." } as const] : []),
    {
      _tag: "Table",
      table: {
        caption: "Claims of the paper and their verdicts here",
        header: ["claim", "statement", "verdict", "why", "paper"],
        numeric: [false, false, false, false, false],
        prose: [false, true, false, true, true],
        rows: m.claims.map((c) => [`(${c.id})`, c.statement, verdictCell(c.verdict), c.why, c.paper]),
      },
    },
  ]
  if (comparisons.length > 0) {
    blocks.push({
      _tag: "Table",
      table: {
        caption: "The comparisons behind the verdicts (differences A - B; accuracies in %, distances in px)",
        header: ["claim", "comparison", "A: mean ± sd", "B: mean ± sd", "differences A - B", "mean difference", "signs agree", "paired t-test", "detectable difference", "verdict"],
        numeric: [false, false, true, true, false, true, true, false, true, false],
        prose: [false, true, false, false, true, false, false, false, true, false],
        rows: comparisons.map(({ id, x }) => [
          `(${id})`,
          x.claimed,
          meanSd(x.meanA, x.sdA, x.unit === "pt" ? "%" : "px"),
          meanSd(x.meanB, x.sdB, x.unit === "pt" ? "%" : "px"),
          x.pairs.map((q) => `${q.key}: ${points(q.diff)}`).join("; "),
          x.meanDiff === null ? "—" : signedUnit(x.meanDiff, x.unit),
          `${x.agreement.k} of ${x.agreement.n}`,
          x.test === null ? "—" : `${tText(x)}, p ${x.test.p < 0.001 ? "< 0.001" : `= ${pValue(x.test.p)}`}`,
          x.detectable === null ? "—" : `${x.detectable.toFixed(2)} ${x.unit} (${x.detectableBasis})`,
          verdictCell(x.verdict),
        ]),
      },
    })
  }
  return { id: "claims", heading: "Claims", blocks }
}

/** The gates, checked before Table 2 is read, with the teachers' k-NN results. */
export const gatesSection = (m: ReportModel): Section => {
  const blocks: Array<Block> = [
    p(
      "Preconditions under which Table 2 tests the paper: the SSL teachers learned something (k-NN, best of class-token and mean-patch pooling, against the random-init ViT), Partial-1 is close to fine-tuning (the paper's premise for training the teachers in the same stage), and each student's head was trained to convergence (not far below its own k-NN on the same features). " +
        "A failed gate marks Table 2 as not a test of the paper.",
    ),
    ...(m.gateFailed ? [{ _tag: "Warning", text: "at least one gate failed: Table 2 is not a test of the paper." } as const] : []),
    {
      _tag: "Table",
      table: {
        caption: "Gates",
        header: ["gate", "status", "check", "margin (pt)", "result", "detail"],
        numeric: [false, false, false, true, false, false],
        prose: [true, false, false, false, false, true],
        rows: m.gates.flatMap((g): Array<ReadonlyArray<Cell>> =>
          g.checks.length === 0
            ? [[g.statement, verdictCell2(g.status), "—", "—", "—", g.missing]]
            : g.checks.map((c, i) => [i === 0 ? g.statement : "", i === 0 ? verdictCell2(g.status) : "", c.subject, points(c.margin), c.passed ? "passed" : "FAILED", c.detail]),
        ),
      },
    },
  ]
  if (m.knn.length > 0) {
    blocks.push({
      _tag: "Table",
      table: {
        caption: "k-NN top-1 of the teachers' frozen features (gate 1)",
        header: ["teacher", "family", "pooling", "dataset", "k-NN top-1 (%)", "test images"],
        numeric: [false, false, false, false, true, true],
        rows: m.knn.map((k) => [k.teacher, k.randomInit ? `${k.family} (random-init reference)` : k.family, k.pooling, k.dataset, pct(k.top1), count(k.testImages)]),
      },
    })
  }
  return { id: "gates", heading: "Gates (checked before Table 2)", blocks }
}

const verdictCell2 = (s: string): Cell => ({ text: s, strong: true, note: "" })

/** The exploratory ablations (labels `x-<group>-<value>`, one seed unless stated), one table per group. */
export const ablationsSection = (m: ReportModel): Section => {
  if (m.ablations.length === 0) return { id: "ablations", heading: "Exploratory ablations", blocks: [{ _tag: "NotRun", text: "no exploratory arms (labels x-<group>-<value>) were evaluated." }] }
  const ours = m.table2.rows.find((r) => r.label === m.config.ours)
  return {
    id: "ablations",
    heading: "Exploratory ablations",
    blocks: [
      p(
        `Exploratory: usually one seed, so differences below the detectable difference of the Claims section are noise. Top-1 on ${m.config.primaryDataset}; Δ is the difference to ${m.config.ours}` +
          (ours === undefined ? " (not evaluated here, so no Δ)." : ` (${pctStd(ours.top1, ours.top1Std)} %, ${seedWords(ours.seeds)}), mean over the runs of each.`),
      ),
      ...m.ablations.map((a): Block => ({
        _tag: "Table",
        table: {
          caption: `Ablation: ${a.group}`,
          header: [a.group, "label", "top-1 (%)", `Δ vs ${m.config.ours} (pt)`, "k-NN top-1 (%)", "seeds", "test images"],
          numeric: [true, false, true, true, true, false, true],
          rows: a.rows.map((r) => [r.value, r.label, pctStd(r.top1, r.top1Std), ours === undefined ? "n/a" : points((r.top1 - ours.top1) * 100), pct(r.knnTop1), seedWords(r.seeds), [...new Set(r.testImages)].map(count).join(" / ")]),
        },
      })),
    ],
  }
}
