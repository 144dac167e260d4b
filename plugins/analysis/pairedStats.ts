/**
 * Statistics for comparing training arms over seeds (issue 11, the Claims
 * section of `paper/report`): mean ± sample sd per arm, per-seed paired
 * differences (the same seed is the same data order and initialization in
 * both arms), sign agreement, a paired t-test with a two-sided p-value from
 * Student's t distribution, and the smallest difference a setup can detect.
 *
 * Student's t CDF uses the regularized incomplete beta function
 * (Abramowitz & Stegun 26.7.1; continued fraction as in Numerical Recipes,
 * `betacf`): for t >= 0 and df = ν,
 *
 *   P(|T| > t) = I_{ν / (ν + t²)}(ν/2, 1/2)
 *
 * Pure functions on plain numbers; a quantity that the data cannot give
 * (a standard deviation of one value, a test with fewer than two pairs) is
 * `null`, never NaN.
 *
 * @example
 * pairedTTest([0.01, 0.02, 0.015]) // { n: 3, df: 2, mean: 0.015, sd: 0.005, t: 5.196, p: 0.0351 }
 */

/** Arithmetic mean; `null` for no values. */
export const mean = (xs: ReadonlyArray<number>): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)

/** Sample standard deviation (divisor n - 1); `null` for fewer than two values. */
export const sampleSd = (xs: ReadonlyArray<number>): number | null => {
  if (xs.length < 2) return null
  const m = xs.reduce((a, b) => a + b, 0) / xs.length
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 coefficients; relative error ~1e-15). */
export const logGamma = (x: number): number => {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let a = c[0] ?? 0
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += (c[i] ?? 0) / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
const betaContinuedFraction = (a: number, b: number, x: number): number => {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-15) break
  }
  return h
}

/** The regularized incomplete beta function I_x(a, b), for a, b > 0 and x in [0, 1]. */
export const regularizedIncompleteBeta = (x: number, a: number, b: number): number => {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) otherwise.
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b
}

/** Two-sided p-value of Student's t: P(|T_df| >= |t|). */
export const studentTTwoSidedP = (t: number, df: number): number => {
  if (!Number.isFinite(t)) return 0
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5)
}

/** Student's t CDF P(T_df <= t). */
export const studentTCdf = (t: number, df: number): number => {
  const tail = studentTTwoSidedP(t, df) / 2
  return t >= 0 ? 1 - tail : tail
}

/** The q-quantile of Student's t with df degrees of freedom (bisection on the CDF; q in (0, 1)). */
export const studentTQuantile = (q: number, df: number): number => {
  let lo = -1e4
  let hi = 1e4
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (studentTCdf(mid, df) < q) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** The q-quantile of the standard normal distribution (Student's t in the limit df -> ∞, taken at df = 1e9). */
export const normalQuantile = (q: number): number => studentTQuantile(q, 1e9)

/** A paired t-test of differences d_i = a_i - b_i against a zero mean. */
export interface PairedTTest {
  readonly n: number
  readonly df: number
  /** Mean and sample sd of the differences. */
  readonly mean: number
  readonly sd: number
  /** t = mean / (sd / sqrt(n)); ±Infinity when every difference is equal and non-zero. */
  readonly t: number
  /** Two-sided p-value; 1 when every difference is 0. */
  readonly p: number
}

/** Paired t-test of the differences; `null` for fewer than two pairs. */
export const pairedTTest = (diffs: ReadonlyArray<number>): PairedTTest | null => {
  const n = diffs.length
  const m = mean(diffs)
  const sd = sampleSd(diffs)
  if (n < 2 || m === null || sd === null) return null
  const se = sd / Math.sqrt(n)
  const t = se === 0 ? (m === 0 ? 0 : m > 0 ? Infinity : -Infinity) : m / se
  return { n, df: n - 1, mean: m, sd, t, p: m === 0 && se === 0 ? 1 : studentTTwoSidedP(t, n - 1) }
}

/** How many of the differences have the sign of their mean (k of n); 0 of n when the mean is 0. */
export const signAgreement = (diffs: ReadonlyArray<number>): { readonly k: number; readonly n: number } => {
  const m = mean(diffs) ?? 0
  return { k: m === 0 ? 0 : diffs.filter((d) => Math.sign(d) === Math.sign(m)).length, n: diffs.length }
}

/** Two arms' results keyed by seed, paired on the seeds both have. */
export interface Paired {
  readonly seeds: ReadonlyArray<number>
  /** a - b per seed, in `seeds` order. */
  readonly diffs: ReadonlyArray<number>
}

/** Pairs two arms by seed (same seed: same data order and initialization); seeds only one arm has are left out. */
export const pairBySeed = (a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): Paired => {
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y)
  return { seeds, diffs: seeds.map((s) => (a.get(s) ?? 0) - (b.get(s) ?? 0)) }
}

/**
 * The smallest true mean difference a paired design of n pairs detects with
 * a two-sided test at level alpha with the given power, from the sd of the
 * paired differences: (t_{1-alpha/2, n-1} + t_{power, n-1}) · sd / sqrt(n).
 * `null` for fewer than two pairs.
 */
export const pairedDetectableDifference = (sd: number, n: number, alpha = 0.05, power = 0.8): number | null =>
  n < 2 ? null : ((studentTQuantile(1 - alpha / 2, n - 1) + studentTQuantile(power, n - 1)) * sd) / Math.sqrt(n)

/** Binomial standard error of an accuracy p measured on n test images: sqrt(p (1 - p) / n). */
export const binomialSe = (p: number, n: number): number => (n <= 0 ? Infinity : Math.sqrt((p * (1 - p)) / n))

/**
 * The smallest difference between two accuracies, each measured once on its
 * own n_a and n_b test images, that a two-sided z-test at level alpha
 * detects with the given power: (z_{1-alpha/2} + z_{power}) · sqrt(se_a² + se_b²).
 * It counts test-set sampling noise only, not seed-to-seed variation.
 */
export const binomialDetectableDifference = (pa: number, na: number, pb: number, nb: number, alpha = 0.05, power = 0.8): number =>
  (normalQuantile(1 - alpha / 2) + normalQuantile(power)) * Math.hypot(binomialSe(pa, na), binomialSe(pb, nb))
