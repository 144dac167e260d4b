import { describe, expect, it } from "vitest"
import {
  binomialDetectableDifference,
  binomialSe,
  logGamma,
  mean,
  normalQuantile,
  pairBySeed,
  pairedDetectableDifference,
  pairedTTest,
  regularizedIncompleteBeta,
  sampleSd,
  signAgreement,
  studentTQuantile,
  studentTTwoSidedP,
} from "../../../plugins/analysis/pairedStats.ts"

describe("Student's t via the regularized incomplete beta function", () => {
  it("matches known values of ln Γ and I_x(a, b)", () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12)
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12)
    // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b.
    expect(regularizedIncompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12)
    expect(regularizedIncompleteBeta(0.6, 3, 1)).toBeCloseTo(0.216, 12)
    expect(regularizedIncompleteBeta(0.2, 1, 4)).toBeCloseTo(1 - 0.8 ** 4, 12)
  })

  it("gives the two-sided p of t-table critical values (alpha = 0.05 and 0.01)", () => {
    // Critical values t_{0.975, df} from any t table.
    expect(studentTTwoSidedP(12.706, 1)).toBeCloseTo(0.05, 4)
    expect(studentTTwoSidedP(4.303, 2)).toBeCloseTo(0.05, 4)
    expect(studentTTwoSidedP(2.776, 4)).toBeCloseTo(0.05, 4)
    expect(studentTTwoSidedP(2.228, 10)).toBeCloseTo(0.05, 4)
    expect(studentTTwoSidedP(9.925, 2)).toBeCloseTo(0.01, 4)
    // df = 1 is Cauchy: P(|T| > 1) = 0.5 exactly.
    expect(studentTTwoSidedP(1, 1)).toBeCloseTo(0.5, 12)
    expect(studentTTwoSidedP(0, 3)).toBeCloseTo(1, 12)
    expect(studentTTwoSidedP(-2.776, 4)).toBeCloseTo(0.05, 4)
  })

  it("inverts the CDF: t and z quantiles", () => {
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.303, 3)
    expect(studentTQuantile(0.8, 2)).toBeCloseTo(1.061, 3)
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776, 3)
    expect(normalQuantile(0.975)).toBeCloseTo(1.96, 3)
    expect(normalQuantile(0.8)).toBeCloseTo(0.8416, 3)
  })
})

describe("paired statistics", () => {
  // Hand-computed example: arm A (ours) and arm B (kd-dino) on seeds 0, 1, 2.
  //   A = 0.83, 0.84, 0.85    B = 0.82, 0.82, 0.835
  //   d = A - B = 0.010, 0.020, 0.015
  //   mean d = 0.045 / 3 = 0.015
  //   deviations -0.005, +0.005, 0 -> sum of squares 5e-5 -> sd = sqrt(5e-5 / 2) = 0.005
  //   t = 0.015 / (0.005 / sqrt 3) = 3 sqrt 3 = 5.19615, df = 2
  //   p: t_{0.975,2} = 4.303 < 5.196 < t_{0.99,2} = 6.965, so 0.02 < p < 0.05; exactly
  //   p = I_{2/(2+27)}(1, 1/2) = 1 - sqrt(1 - 2/29) = 1 - sqrt(27/29) = 0.035098
  //   detectable (alpha 0.05, power 0.8): (4.303 + 1.061) * 0.005 / sqrt 3 = 0.015484
  const a = new Map([
    [0, 0.83],
    [1, 0.84],
    [2, 0.85],
  ])
  const b = new Map([
    [2, 0.835],
    [0, 0.82],
    [1, 0.82],
    [7, 0.5],
  ])

  it("pairs by seed, leaving out seeds one arm lacks", () => {
    const p = pairBySeed(a, b)
    expect(p.seeds).toEqual([0, 1, 2])
    p.diffs.forEach((d, i) => expect(d).toBeCloseTo([0.01, 0.02, 0.015][i] ?? NaN, 12))
  })

  it("computes mean, sd, t, df and p by hand", () => {
    const { diffs } = pairBySeed(a, b)
    expect(mean(diffs)).toBeCloseTo(0.015, 12)
    expect(sampleSd(diffs)).toBeCloseTo(0.005, 12)
    const t = pairedTTest(diffs)
    expect(t).not.toBeNull()
    expect(t?.df).toBe(2)
    expect(t?.t).toBeCloseTo(3 * Math.sqrt(3), 9)
    expect(t?.p).toBeCloseTo(1 - Math.sqrt(27 / 29), 9)
    expect(signAgreement(diffs)).toEqual({ k: 3, n: 3 })
    expect(pairedDetectableDifference(0.005, 3)).toBeCloseTo(((4.3027 + 1.0607) * 0.005) / Math.sqrt(3), 4)
  })

  it("says what one value cannot give, and handles equal differences", () => {
    expect(sampleSd([0.3])).toBeNull()
    expect(mean([])).toBeNull()
    expect(pairedTTest([0.01])).toBeNull()
    expect(pairedDetectableDifference(0.01, 1)).toBeNull()
    expect(pairedTTest([0.01, 0.01])?.p).toBe(0)
    expect(pairedTTest([0, 0])?.p).toBe(1)
    expect(signAgreement([0.01, -0.02, -0.03])).toEqual({ k: 2, n: 3 })
  })

  it("gives the binomial standard error and the detectable difference of two single accuracies", () => {
    // p = 0.8 on 10,000 images: sqrt(0.8 * 0.2 / 10000) = sqrt(1.6e-5) = 0.004
    expect(binomialSe(0.8, 10_000)).toBeCloseTo(0.004, 12)
    // Two such accuracies: (1.95996 + 0.84162) * sqrt(2) * 0.004 = 0.015849
    expect(binomialDetectableDifference(0.8, 10_000, 0.8, 10_000)).toBeCloseTo(2.80158 * Math.SQRT2 * 0.004, 5)
    expect(binomialSe(0.5, 0)).toBe(Infinity)
  })
})
