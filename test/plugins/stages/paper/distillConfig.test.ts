/**
 * The scalar settings of `paper/joint-distill`: lambda1 (eq. 1), lambda2
 * (eq. 3) and T land in the loss terms; the random-head ablation draws a
 * valid head, deterministically per seed, and covers every head over seeds.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { jointLossTerms } from "../../../../plugins/losses/joint.ts"
import { DistillConfig, randomHead, withLambdas } from "../../../../plugins/stages/paper/distill.ts"

describe("joint-distill settings", () => {
  it("writes lambda1, lambda2 and T into kd-output and kd-attention, leaving the other terms alone", () => {
    const terms = withLambdas(jointLossTerms({ l1: 0.5, l2: 0, temperature: 1, clHead: 2 }), { lambda1: 0.25, lambda2: 0.75, temperature: 4 })
    const byKey = (k: string) => terms.find((t) => t.key === k)
    expect(byKey("kd-output")?.params).toEqual({ lambda: 0.25, temperature: 4 })
    expect(byKey("kd-attention")?.params).toMatchObject({ lambda: 0.75, clHead: 2, studentHeads: [0, 1] })
    expect(terms.filter((t) => t.key === "ce")).toEqual(jointLossTerms().filter((t) => t.key === "ce"))
  })

  it("defaults are the paper's: lambda1 0.5, lambda2 0, T 1, AC heads; lambda1 outside [0, 1] is refused", () => {
    const c = Schema.decodeUnknownSync(DistillConfig)({})
    expect([c.lambda1, c.lambda2, c.temperature, c.headChoice]).toEqual([0.5, 0, 1, "ac"])
    expect(() => Schema.decodeUnknownSync(DistillConfig)({ lambda1: 1.5 })).toThrow(/lambda1/)
  })

  it("random heads are in range, fixed per seed, and every head occurs over seeds", () => {
    const seen = new Set<number>()
    for (let seed = 0; seed < 64; seed++) {
      const h = randomHead(seed, 1, 3)
      expect(h).toBe(randomHead(seed, 1, 3))
      expect(h).toBeGreaterThanOrEqual(0)
      expect(h).toBeLessThan(3)
      seen.add(h)
    }
    expect([...seen].sort()).toEqual([0, 1, 2])
  })
})
