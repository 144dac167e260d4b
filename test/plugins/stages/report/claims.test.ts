/**
 * The claim verdict logic on constructed numbers: each verdict (reproduced,
 * not reproduced, inconclusive, not tested) is reached for each of the five
 * claims, and the gates pass, fail and go unchecked as documented.
 */
import { describe, expect, it } from "vitest"
import { type ClaimInputs, claims, type ClaimThresholds } from "../../../../plugins/stages/report/internal/claims.ts"
import { gates, type GateInputs } from "../../../../plugins/stages/report/internal/gates.ts"
import { uniformAttentionDistance } from "../../../../plugins/stages/report/internal/references.ts"
import { type Arm, compareArms } from "../../../../plugins/stages/report/internal/verdict.ts"

const t: ClaimThresholds = { alpha: 0.05, power: 0.8, closePoints: 3, largeGapPoints: 5, attentionGapPx: 0.5, ours: "ours", baseline: "baseline", singleTeacher: ["kd-dino", "kd-mae"] }

const arm = (label: string, top1: ReadonlyArray<number>, testImages = 10_000): Arm => ({ label, bySeed: new Map(top1.map((v, s) => [s, v])), testImages })

const empty: ClaimInputs = { arms: new Map(), adaptation: [], heads: [], curves: [], uniformPx: null }

const withArms = (...as: ReadonlyArray<Arm>): ClaimInputs => ({ ...empty, arms: new Map(as.map((a) => [a.label, a])) })

const verdictOf = (i: ClaimInputs, id: string) => claims(i, t).find((c) => c.id === id)?.verdict

describe("every claim is 'not tested' without its inputs", () => {
  it("(a) to (e)", () => {
    expect(claims(empty, t).map((c) => [c.id, c.verdict])).toEqual([
      ["a", "not tested"],
      ["b", "not tested"],
      ["c", "not tested"],
      ["d", "not tested"],
      ["e", "not tested"],
    ])
  })
})

describe("(a) Partial-1 ≈ fine-tuning >> linear (MIM teacher, Table 1)", () => {
  // On 10,000 images at p ≈ 0.8 a difference's 95% half-width is 1.96 · sqrt(2 · 0.16 / 10000) ≈ 1.1 pt.
  const rows = (linear: number, p1: number, full: number, n = 10_000): ClaimInputs => ({
    ...empty,
    adaptation: [
      { teacher: "mae", family: "masked-image-modeling", mode: "linear", top1: linear, testImages: n },
      { teacher: "mae", family: "masked-image-modeling", mode: "partial-1", top1: p1, testImages: n },
      { teacher: "mae", family: "masked-image-modeling", mode: "full", top1: full, testImages: n },
      // A contrastive teacher does not enter claim (a).
      { teacher: "dino", family: "contrastive", mode: "linear", top1: 0.1, testImages: n },
    ],
  })
  it("reproduced: P1 1 pt below full (interval inside 3 pt), 20 pt above linear", () => {
    const c = claims(rows(0.6, 0.8, 0.81), t)[0]
    expect(c?.verdict).toBe("reproduced")
    expect(c?.comparisons.map((x) => x.verdict)).toEqual(["reproduced", "reproduced"])
  })
  it("not reproduced: P1 10 pt below full (the demo's situation)", () => {
    expect(verdictOf(rows(0.5, 0.58, 0.69), "a")).toBe("not reproduced")
  })
  it("not reproduced: P1 only 1 pt above linear (a 5 pt gap is ruled out)", () => {
    expect(verdictOf(rows(0.79, 0.8, 0.81), "a")).toBe("not reproduced")
  })
  it("inconclusive: P1 3 pt below full on 1,000 images (the interval straddles -3 pt)", () => {
    expect(verdictOf(rows(0.5, 0.77, 0.8, 1000), "a")).toBe("inconclusive")
  })
})

describe("(b) ours > single-teacher KD > baseline (paired seeds)", () => {
  it("reproduced: every seed agrees and both steps are significant", () => {
    const c = claims(withArms(arm("baseline", [0.8, 0.81, 0.79]), arm("kd-dino", [0.82, 0.83, 0.815]), arm("ours", [0.84, 0.85, 0.835])), t)[1]
    expect(c?.verdict).toBe("reproduced")
    expect(c?.comparisons.map((x) => x.claimed)).toEqual(["ours > kd-dino", "kd-dino > baseline"])
  })
  it("not reproduced: ours is significantly below KD", () => {
    expect(verdictOf(withArms(arm("baseline", [0.8, 0.81, 0.79]), arm("kd-dino", [0.84, 0.85, 0.835]), arm("ours", [0.82, 0.83, 0.815])), "b")).toBe("not reproduced")
  })
  it("inconclusive: seeds disagree", () => {
    expect(verdictOf(withArms(arm("baseline", [0.8, 0.81, 0.79]), arm("kd-dino", [0.82, 0.83, 0.815]), arm("ours", [0.83, 0.82, 0.83])), "b")).toBe("inconclusive")
  })
  it("inconclusive: one seed, however large the difference", () => {
    expect(verdictOf(withArms(arm("baseline", [0.5]), arm("kd-mae", [0.7]), arm("ours", [0.9])), "b")).toBe("inconclusive")
  })
  it("not tested: no single-teacher arm", () => {
    expect(verdictOf(withArms(arm("baseline", [0.8, 0.81]), arm("ours", [0.84, 0.85])), "b")).toBe("not tested")
  })
})

describe("(c) λ2 = 0 best (exploratory, one seed)", () => {
  // One seed on 10,000 images at p ≈ 0.8: detectable ≈ 2.80 · sqrt(2 · 0.16 / 10000) ≈ 1.6 pt.
  it("reproduced: λ2 = 0 beats 0.5 and 1 by 3 pt and more", () => {
    expect(verdictOf(withArms(arm("x-lambda2-0", [0.83]), arm("x-lambda2-0.5", [0.8]), arm("x-lambda2-1", [0.78])), "c")).toBe("reproduced")
  })
  it("not reproduced: λ2 = 1 beats 0 by 3 pt", () => {
    expect(verdictOf(withArms(arm("x-lambda2-0", [0.8]), arm("x-lambda2-0.5", [0.8]), arm("x-lambda2-1", [0.83])), "c")).toBe("not reproduced")
  })
  it("inconclusive: differences within the detectable 1.6 pt", () => {
    expect(verdictOf(withArms(arm("x-lambda2-0", [0.805]), arm("x-lambda2-0.5", [0.8])), "c")).toBe("inconclusive")
  })
  it("not tested: no λ2 = 0 arm", () => {
    expect(verdictOf(withArms(arm("x-lambda2-0.5", [0.8]), arm("x-lambda2-1", [0.83])), "c")).toBe("not tested")
  })
})

describe("(d) AC head >= other heads (exploratory)", () => {
  const heads = [{ node: "ac-mae", teacher: "MAE ViT", best: 1 }]
  const inputs = (h0: number, h1: number, h2: number): ClaimInputs => ({ ...withArms(arm("x-head-mae-0", [h0]), arm("x-head-mae-1", [h1]), arm("x-head-mae-2", [h2])), heads })
  it("reproduced: no head significantly better, one significantly worse", () => {
    expect(verdictOf(inputs(0.8, 0.81, 0.75), "d")).toBe("reproduced")
  })
  it("not reproduced: head 2 significantly better than the AC head 1", () => {
    expect(verdictOf(inputs(0.8, 0.8, 0.84), "d")).toBe("not reproduced")
  })
  it("inconclusive: all within noise", () => {
    expect(verdictOf(inputs(0.8, 0.805, 0.81), "d")).toBe("inconclusive")
  })
  it("not tested: no head selection for the teacher", () => {
    const c = claims({ ...inputs(0.8, 0.81, 0.75), heads: [] }, t)[3]
    expect(c?.verdict).toBe("not tested")
    expect(c?.why).toContain("mae: no head selection (ac-mae)")
  })
})

describe("(e) CL deep layers more global than MIM (Figure 1)", () => {
  const curves = (cl: ReadonlyArray<number>, mim: ReadonlyArray<number>, uniformPx: number | null = 14.44): ClaimInputs => ({
    ...empty,
    curves: [
      { teacher: "dino", family: "contrastive", layers: cl.map((_, i) => i), mean: cl },
      { teacher: "mae", family: "masked-image-modeling", layers: mim.map((_, i) => i), mean: mim },
    ],
    uniformPx,
  })
  it("reproduced: every deep layer (3, 4) farther by 2-3 px", () => {
    const c = claims(curves([10, 11, 14, 15], [10, 11, 12, 12]), t)[4]
    expect(c?.verdict).toBe("reproduced")
    expect(c?.comparisons[0]?.pairs).toEqual([
      { key: "layer 3", diff: 2 },
      { key: "layer 4", diff: 3 },
    ])
  })
  it("not reproduced: every deep layer nearer", () => {
    expect(verdictOf(curves([10, 11, 9, 8], [10, 11, 12, 12]), "e")).toBe("not reproduced")
  })
  it("inconclusive: both near uniform attention (the 4x4-grid demo)", () => {
    expect(verdictOf(curves([14, 14, 14.3, 14.2], [14, 14, 14.1, 14.0], 14.06), "e")).toBe("inconclusive")
  })
  it("inconclusive: deep layers disagree", () => {
    expect(verdictOf(curves([10, 11, 16, 10], [10, 11, 12, 12]), "e")).toBe("inconclusive")
  })
})

describe("paired comparison details", () => {
  it("reports the hand-computed paired statistics of a comparison", () => {
    // Differences 1.0, 2.0, 1.5 pt: mean 1.5, sd 0.5, t = 1.5 / (0.5 / sqrt 3) = 5.196, df 2, p = 1 - sqrt(27/29).
    const c = compareArms(arm("ours", [0.83, 0.84, 0.85]), arm("kd-dino", [0.82, 0.82, 0.835]), t, false)
    expect(c.meanDiff).toBeCloseTo(1.5, 9)
    expect(c.test?.t).toBeCloseTo(3 * Math.sqrt(3), 6)
    expect(c.test?.p).toBeCloseTo(1 - Math.sqrt(27 / 29), 6)
    expect(c.agreement).toEqual({ k: 3, n: 3 })
    expect(c.meanA).toBeCloseTo(84, 9)
    expect(c.sdA).toBeCloseTo(1, 9)
    // (t_{0.975,2} + t_{0.8,2}) · 0.5 / sqrt 3 = (4.3027 + 1.0607) · 0.2887 = 1.548 pt.
    expect(c.detectable).toBeCloseTo(1.548, 2)
    expect(c.verdict).toBe("reproduced")
  })
  it("pairs only common seeds", () => {
    const c = compareArms(arm("a", [0.8, 0.81]), { label: "b", bySeed: new Map([[1, 0.8], [5, 0.1]]), testImages: 100 }, t, true)
    expect(c.pairs).toEqual([{ key: "seed 1", diff: expect.closeTo(1, 9) }])
  })
})

describe("gates", () => {
  const knn = (teacher: string, family: string, top1: number, pooling = "cls") => ({ teacher, family, dataset: "fashion-mnist", pooling, top1 })
  const base: GateInputs = { knn: [], adaptation: [], students: [] }
  const th = { knnOverRandom: 5, partialVsFull: 3, headVsKnn: 3 }
  it("pass, fail and 'not checked' as documented", () => {
    const g = gates(
      {
        knn: [knn("dino", "contrastive", 0.7), knn("dino", "contrastive", 0.75, "mean-patch"), knn("mae", "masked-image-modeling", 0.72), knn("dino (random init)", "other", 0.69)],
        adaptation: [
          { teacher: "dino", mode: "partial-1", top1: 0.8 },
          { teacher: "dino", mode: "full", top1: 0.82 },
          { teacher: "mae", mode: "partial-1", top1: 0.7 },
          { teacher: "mae", mode: "full", top1: 0.8 },
        ],
        students: [{ label: "ours", seed: 0, protocol: "head", top1: 0.8, knnTop1: 0.82 }],
      },
      th,
    )
    // dino: best pooling 75 vs 69 -> +6 pass; mae: 72 vs 69 -> +3 fail.
    expect(g[0]?.status).toBe("failed")
    expect(g[0]?.checks.map((c) => [c.subject, Math.round(c.margin * 100) / 100, c.passed])).toEqual([
      ["dino", 6, true],
      ["mae", 3, false],
    ])
    // mae's Partial-1 is 10 pt below full.
    expect(g[1]?.status).toBe("failed")
    expect(g[2]?.status).toBe("passed")
    expect(gates(base, th).map((x) => x.status)).toEqual(["not checked", "not checked", "not checked"])
  })
  it("a user's SSL teacher of family 'other' (iBOT) is checked against the random-init ViT, not taken for it", () => {
    const g = gates({ ...base, knn: [knn("ibot", "other", 0.6), knn("dino", "contrastive", 0.7), knn("dino (random init)", "other", 0.59)] }, th)
    expect(g[0]?.checks.map((c) => [c.subject, Math.round(c.margin * 100) / 100, c.passed])).toEqual([
      ["dino", 11, true],
      ["ibot", 1, false],
    ])
  })
})

it("uniform attention on a grid, by hand: 2x2 patches of 1 px", () => {
  // Pairs: 4 at distance 0, 8 at 1, 4 at sqrt 2 -> (8 + 4 sqrt 2) / 16 = 0.85355.
  expect(uniformAttentionDistance(2, 1)).toBeCloseTo((8 + 4 * Math.SQRT2) / 16, 6)
  expect(uniformAttentionDistance(4, 7)).toBeCloseTo(14.056, 3)
  expect(uniformAttentionDistance(7, 4)).toBeCloseTo(14.438, 3)
})

describe("exploratory arms in the report", () => {
  it("go to ablation tables, not Table 2 or Figure 3, and unknown labels render", async () => {
    const { Effect } = await import("effect")
    const { renderReport } = await import("../../../../plugins/stages/report/report.ts")
    const { inputs, score } = await import("./fixtures.ts")
    const files = await Effect.runPromise(
      renderReport({
        ...inputs,
        ablations: [
          { item: "eval-x-lambda2-0.5[fashion-mnist]", value: score({ label: "x-lambda2-0.5", top1: 0.8 }) },
          { item: "eval-x-lambda2-0[fashion-mnist]", value: score({ label: "x-lambda2-0", top1: 0.83 }) },
          { item: "eval-x-lambda2-1[fashion-mnist]", value: score({ label: "x-lambda2-1", top1: 0.81 }) },
          { item: "eval-kd-both-output[fashion-mnist]", value: score({ label: "kd-both-output", top1: 0.82 }) },
        ],
      }),
    )
    const json = JSON.parse(new TextDecoder().decode(files.get("report.json")))
    expect(json.table2.rows.map((r: { label: string }) => r.label)).toEqual(["baseline", "kd-both-output", "kd-dino", "kd-mae", "ours"])
    expect(json.labels).not.toContain("x-lambda2-0")
    expect(json.ablations.map((a: { group: string; rows: Array<{ value: string }> }) => [a.group, a.rows.map((r) => r.value)])).toEqual([["lambda2", ["0", "0.5", "1"]]])
    // λ2 = 0 beats 0.5 by 3 pt and 1 by 2 pt; on 1,000 test images the detectable difference is
    // 2.80 · sqrt(0.83·0.17/1000 + 0.8·0.2/1000) = 4.86 pt, so both are within noise: inconclusive.
    expect(json.claims.find((c: { id: string }) => c.id === "c").verdict).toBe("inconclusive")
    expect(new TextDecoder().decode(files.get("report.md"))).toContain("Ablation: lambda2")
  })
})
