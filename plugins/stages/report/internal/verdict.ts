/**
 * One comparison of two measurements and its verdict, the unit of the
 * report's Claims section. Two kinds of evidence:
 *
 * - paired over seeds (n >= 2 common seeds): per-seed differences a - b,
 *   a paired t-test, sign agreement, and the smallest difference the design
 *   detects at (alpha, power) from the observed sd of the differences;
 * - a single pair (one seed, or one run per arm, as Table 1 and the
 *   exploratory ablations have): the difference against the binomial noise
 *   of the two accuracies on their test images (seed-to-seed variation is
 *   not in it, so a single pair is weaker evidence: claims about the main
 *   arms do not accept it, see `allowSinglePair`).
 *
 * Verdicts of "a > b" (a claim that a is better):
 * - reproduced: paired: mean > 0, every seed agrees in sign and p < alpha;
 *   single pair (when allowed): the difference exceeds the detectable one;
 * - not reproduced: the opposite sign is significant (paired: mean < 0 and
 *   p < alpha; single: difference < -detectable);
 * - inconclusive: anything else (within noise, seeds disagreeing, or one
 *   seed where the claim needs seeds).
 */
import {
  binomialDetectableDifference,
  mean as meanOf,
  normalQuantile,
  pairBySeed,
  pairedDetectableDifference,
  pairedTTest,
  type PairedTTest,
  sampleSd,
  signAgreement,
} from "../../../analysis/pairedStats.ts"

export type Verdict = "reproduced" | "not reproduced" | "inconclusive" | "not tested"

/** One arm: top-1 (fraction) per seed, and the test-set size of its runs. */
export interface Arm {
  readonly label: string
  readonly bySeed: ReadonlyMap<number, number>
  readonly testImages: number
}

/** A comparison a vs b in the claim's unit (accuracies in percentage points, distances in px). */
export interface Comparison {
  readonly a: string
  readonly b: string
  /** What the paper claims of a vs b. */
  readonly claimed: string
  readonly unit: "pt" | "px"
  /** Mean ± sample sd of each side over its runs (sd null for one run). */
  readonly meanA: number | null
  readonly sdA: number | null
  readonly meanB: number | null
  readonly sdB: number | null
  /** The pairs: by seed (`seed 0`), by layer (`layer 3`) or the single pair (`single run`). */
  readonly pairs: ReadonlyArray<{ readonly key: string; readonly diff: number }>
  readonly meanDiff: number | null
  readonly agreement: { readonly k: number; readonly n: number }
  readonly test: PairedTTest | null
  /** Smallest difference detectable at (alpha, power), and how it was obtained. */
  readonly detectable: number | null
  readonly detectableBasis: string
  readonly verdict: Verdict
  readonly why: string
}

export interface TestSettings {
  readonly alpha: number
  readonly power: number
}

/** Signed, two decimals; a value that rounds to zero is "+0.00", never "-0.00". */
export const signed = (x: number, unit: "pt" | "px"): string => {
  const r = Math.round(x * 100) / 100
  return `${r < 0 ? r.toFixed(2) : `+${Math.abs(r).toFixed(2)}`} ${unit}`
}

const sideStats = (arm: Arm) => {
  const xs = [...arm.bySeed.values()].map((v) => v * 100)
  return { mean: meanOf(xs), sd: sampleSd(xs) }
}

/**
 * Claim "a > b" between two arms of student runs. `allowSinglePair`: whether
 * one common seed may decide (exploratory one-seed ablations) or only makes
 * the comparison inconclusive (main arms).
 */
export const compareArms = (a: Arm, b: Arm, s: TestSettings, allowSinglePair: boolean, claimed = `${a.label} > ${b.label}`): Comparison => {
  const sa = sideStats(a)
  const sb = sideStats(b)
  const paired = pairBySeed(a.bySeed, b.bySeed)
  const diffs = paired.diffs.map((d) => d * 100)
  const base = {
    a: a.label,
    b: b.label,
    claimed,
    unit: "pt" as const,
    meanA: sa.mean,
    sdA: sa.sd,
    meanB: sb.mean,
    sdB: sb.sd,
    pairs: paired.seeds.map((seed, i) => ({ key: `seed ${seed}`, diff: diffs[i] ?? 0 })),
    meanDiff: meanOf(diffs),
    agreement: signAgreement(diffs),
  }
  if (diffs.length === 0) {
    return { ...base, test: null, detectable: null, detectableBasis: "—", verdict: "inconclusive", why: "no seed in common: the arms cannot be paired" }
  }
  if (diffs.length === 1) {
    const seed = paired.seeds[0] ?? 0
    const d = diffs[0] ?? 0
    const det = binomialDetectableDifference(a.bySeed.get(seed) ?? 0, a.testImages, b.bySeed.get(seed) ?? 0, b.testImages, s.alpha, s.power) * 100
    const basis = `binomial, ${a.testImages.toLocaleString("en-US")} / ${b.testImages.toLocaleString("en-US")} test images (one seed: seed-to-seed variation not included)`
    const single = { ...base, test: null, detectable: det, detectableBasis: basis }
    if (!allowSinglePair) return { ...single, verdict: "inconclusive", why: `one seed only (${signed(d, "pt")}): this claim needs >= 2 paired seeds` }
    return d > det
      ? { ...single, verdict: "reproduced", why: `${signed(d, "pt")} exceeds the detectable ${det.toFixed(2)} pt` }
      : d < -det
        ? { ...single, verdict: "not reproduced", why: `${signed(d, "pt")}: the opposite sign beyond the detectable ${det.toFixed(2)} pt` }
        : { ...single, verdict: "inconclusive", why: `${signed(d, "pt")} is within the detectable ${det.toFixed(2)} pt` }
  }
  return pairedVerdict(base, diffs, s, "pt")
}

/** Verdict of "a > b" from n >= 2 paired differences (shared by arms and layers). */
const pairedVerdict = (
  base: Omit<Comparison, "test" | "detectable" | "detectableBasis" | "verdict" | "why">,
  diffs: ReadonlyArray<number>,
  s: TestSettings,
  unit: "pt" | "px",
): Comparison => {
  const test = pairedTTest(diffs)
  const det = test === null ? null : pairedDetectableDifference(test.sd, test.n, s.alpha, s.power)
  const withTest = { ...base, test, detectable: det, detectableBasis: `paired t over ${diffs.length} ${base.pairs[0]?.key.split(" ")[0] ?? "pair"}s, observed sd of differences` }
  if (test === null) return { ...withTest, verdict: "inconclusive", why: "fewer than two pairs" }
  const { k, n } = base.agreement
  const stat = `mean ${signed(test.mean, unit)}, t(${test.df}) = ${Number.isFinite(test.t) ? test.t.toFixed(2) : String(test.t)}, p = ${test.p.toFixed(3)}, ${k}/${n} agree`
  if (test.mean > 0 && k === n && test.p < s.alpha) return { ...withTest, verdict: "reproduced", why: stat }
  if (test.mean < 0 && test.p < s.alpha) return { ...withTest, verdict: "not reproduced", why: `the opposite sign is significant: ${stat}` }
  return { ...withTest, verdict: "inconclusive", why: `not significant at ${s.alpha} or seeds disagree: ${stat}` }
}

/**
 * Claim "a > b" from single accuracies with their test-set sizes (Table 1's
 * adapted teachers), in points; `margin` shifts the claim to "a - b > margin"
 * (or, with `atMost`, to "b - a <= margin": a within margin below b).
 */
export const compareSingle = (
  o: { readonly a: string; readonly b: string; readonly pa: number; readonly na: number; readonly pb: number; readonly nb: number; readonly claimed: string },
  s: TestSettings,
): Comparison & { readonly halfWidth: number } => {
  const d = (o.pa - o.pb) * 100
  const det = binomialDetectableDifference(o.pa, o.na, o.pb, o.nb, s.alpha, s.power) * 100
  // Half-width of the two-sided (1 - alpha) interval of the difference: z · sqrt(se_a² + se_b²).
  const halfWidth = (det / (normalQuantile(1 - s.alpha / 2) + normalQuantile(s.power))) * normalQuantile(1 - s.alpha / 2)
  return {
    a: o.a,
    b: o.b,
    claimed: o.claimed,
    unit: "pt",
    meanA: o.pa * 100,
    sdA: null,
    meanB: o.pb * 100,
    sdB: null,
    pairs: [{ key: "single run", diff: d }],
    meanDiff: d,
    agreement: signAgreement([d]),
    test: null,
    detectable: det,
    detectableBasis: `binomial, ${o.na.toLocaleString("en-US")} / ${o.nb.toLocaleString("en-US")} test images`,
    verdict: "inconclusive",
    why: "",
    halfWidth,
  }
}

/**
 * Claim "a > b by more than `minGap`" over paired layers (Figure 1's deep
 * layers, in px): reproduced when every layer agrees and the mean exceeds
 * minGap; not reproduced when every layer has the opposite sign and the mean
 * is below -minGap; inconclusive otherwise.
 */
export const compareLayers = (
  o: { readonly a: string; readonly b: string; readonly layers: ReadonlyArray<number>; readonly va: ReadonlyArray<number>; readonly vb: ReadonlyArray<number>; readonly minGap: number; readonly claimed: string },
  s: TestSettings,
): Comparison => {
  const diffs = o.layers.map((_, i) => (o.va[i] ?? 0) - (o.vb[i] ?? 0))
  const m = meanOf(diffs)
  const test = pairedTTest(diffs)
  const agreement = signAgreement(diffs)
  const base = {
    a: o.a,
    b: o.b,
    claimed: o.claimed,
    unit: "px" as const,
    meanA: meanOf(o.va),
    sdA: sampleSd(o.va),
    meanB: meanOf(o.vb),
    sdB: sampleSd(o.vb),
    pairs: o.layers.map((l, i) => ({ key: `layer ${l + 1}`, diff: diffs[i] ?? 0 })),
    meanDiff: m,
    agreement,
    test,
    detectable: test === null ? null : pairedDetectableDifference(test.sd, test.n, s.alpha, s.power),
    detectableBasis: `paired over ${diffs.length} deep layers (layers are not independent samples; the t-test is descriptive); decision threshold ${o.minGap} px`,
  }
  if (m === null) return { ...base, verdict: "not tested", why: "no deep layers" }
  const all = agreement.k === agreement.n
  if (m > o.minGap && all) return { ...base, verdict: "reproduced", why: `every deep layer agrees, mean ${signed(m, "px")} > ${o.minGap} px` }
  if (m < -o.minGap && all) return { ...base, verdict: "not reproduced", why: `every deep layer has the opposite sign, mean ${signed(m, "px")}` }
  return { ...base, verdict: "inconclusive", why: `mean ${signed(m, "px")} with ${agreement.k}/${agreement.n} layers agreeing (threshold ${o.minGap} px)` }
}

/** A claim's verdict from its comparisons: any not reproduced -> not reproduced; all reproduced -> reproduced; none -> not tested. */
export const combine = (cs: ReadonlyArray<Pick<Comparison, "verdict">>): Verdict =>
  cs.length === 0 || cs.every((c) => c.verdict === "not tested")
    ? "not tested"
    : cs.some((c) => c.verdict === "not reproduced")
      ? "not reproduced"
      : cs.every((c) => c.verdict === "reproduced")
        ? "reproduced"
        : "inconclusive"
