/**
 * The settings of `paper/joint-distill` that need no tensors: the paper's
 * table and the named knobs lambda1 (eq. 1) and lambda2 (eq. 3) land in the
 * loss terms; bad tables fail naming the field; the random-head ablation
 * draws a valid head, deterministically per seed, and covers every head
 * over seeds; fresh-head seeds differ per row and seed.
 */
import { Effect, Exit, Schema } from "effect"
import { describe, expect, it } from "vitest"
import type { HeadSelectionValue } from "../../../../plugins/stages/paper/acSelect.ts"
import { freshHeadSeed, type JointInputs, JointConfig, jointPlan, paperTeachers, randomHead } from "../../../../plugins/stages/paper/joint.ts"
import type { TeacherWeightsValue } from "../../../../plugins/teachers/artifact.ts"

const weights = (teacher: string) => ({ info: { teacher, config: { numHeads: 4 } } }) as unknown as TeacherWeightsValue
const selection = (teacher: string, best: number): HeadSelectionValue => ({ teacher, layer: 1, perHead: [0.1, 0.2, 0.3, 0.4], best, images: 4, queries: "all", dataset: "x" })
const inputs: JointInputs = {
  pretrained: [{ item: "dino", value: weights("dino") }, { item: "mae", value: weights("mae") }],
  adapted: [],
  heads: [{ item: "ac-dino", value: selection("dino", 3) }, { item: "ac-mae", value: selection("mae", 2) }],
}
const table = paperTeachers({ cl: "dino", mim: "mae", clHeads: "ac-dino", mimHeads: "ac-mae" })
const plan = (c: Record<string, unknown>) => Effect.runPromiseExit(jointPlan(Schema.decodeUnknownSync(JointConfig)({ teachers: table, ...c }), inputs))
const ok = async (c: Record<string, unknown>) => {
  const e = await plan(c)
  if (Exit.isFailure(e)) throw new Error(String(e.cause))
  return e.value
}
const failure = async (c: Record<string, unknown>) => {
  const e = await plan(c)
  return Exit.isFailure(e) ? String(e.cause) : "succeeded"
}
const params = (p: Awaited<ReturnType<typeof ok>>, key: string) => p.losses.find((t) => t.key === key)?.params

describe("joint-distill settings", () => {
  it("the paper's table: eq. 4's terms, lambda 0.5 / 0.5, attention weights 0 / 1 onto student heads 0 / 1 from the AC heads, fresh heads", async () => {
    const p = await ok({ seed: 3 })
    expect(p.losses.map((t) => t.name ?? t.key)).toEqual(["ce/student", "ce/cl", "ce/mim", "kd-output", "kd-attention"])
    expect(params(p, "kd-output")).toEqual({ temperature: 1, teachers: [{ role: "cl", weight: 0.5 }, { role: "mim", weight: 0.5 }] })
    expect(params(p, "kd-attention")).toEqual({ teachers: [{ role: "cl", weight: 0, head: 3, studentHead: 0 }, { role: "mim", weight: 1, head: 2, studentHead: 1 }] })
    expect(p.teachers.map((t) => [t.role, t.mode, t.freshHead?.seed])).toEqual([["cl", "partial-1", freshHeadSeed(3, 0)], ["mim", "partial-1", freshHeadSeed(3, 1)]])
  })

  it("lambda1 and lambda2 rewrite a two-row table as [l, 1 - l]; T and the eq. 4 weights land in the terms", async () => {
    const p = await ok({ lambda1: 0.25, lambda2: 0.75, temperature: 4, attentionWeight: 0 })
    expect(params(p, "kd-output")).toEqual({ temperature: 4, teachers: [{ role: "cl", weight: 0.25 }, { role: "mim", weight: 0.75 }] })
    expect(params(p, "kd-attention")).toMatchObject({ teachers: [{ role: "cl", weight: 0.75 }, { role: "mim", weight: 0.25 }] })
    expect(p.losses.find((t) => t.key === "kd-attention")?.weight).toBe(0)
  })

  it("an explicit teacher head wins over the AC choice; a table without attention pairs has no kd-attention term", async () => {
    const p = await ok({ teachers: table.map((r) => (r.role === "mim" && r.attention !== undefined ? { ...r, attention: { ...r.attention, head: 0 } } : r)) })
    expect(params(p, "kd-attention")).toMatchObject({ teachers: [{ head: 3 }, { head: 0 }] })
    expect(p.teachers[1]?.head).toBe(0)
    const plain = await ok({ teachers: paperTeachers({ cl: "dino", mim: "mae" }) })
    expect(plain.losses.map((t) => t.key)).toEqual(["ce", "ce", "ce", "kd-output"])
    expect(plain.attention).toBe(false)
  })

  it("refuses bad tables naming the field: no rows, an unknown teacher or selection, knobs on another row count, a repeated role", async () => {
    expect(await failure({ teachers: [] })).toContain("teachers")
    expect(await failure({ teachers: [{ ...table[0], teacher: "ibot" }] })).toContain("teachers[0].teacher")
    expect(await failure({ teachers: [{ ...table[0], teacher: "ibot" }] })).toContain("an item of input pretrained (dino, mae) or adapted (none)")
    expect(await failure({ teachers: [table[0], { ...table[1], attention: { heads: "ac-ibot" } }] })).toContain("teachers[1].attention.heads")
    expect(await failure({ teachers: [table[0]], lambda1: 0.3 })).toContain("lambda1")
    expect(await failure({ teachers: [table[0], { ...table[1], role: "cl" }] })).toContain("teachers[1].role")
  })

  it("defaults: T 1, AC heads, eq. 4 weights 1, knobs unset; lambda1 outside [0, 1] is refused", () => {
    const c = Schema.decodeUnknownSync(JointConfig)({})
    expect([c.lambda1, c.lambda2, c.temperature, c.headChoice, c.kdWeight, c.attentionWeight]).toEqual([undefined, undefined, 1, "ac", 1, 1])
    expect(() => Schema.decodeUnknownSync(JointConfig)({ lambda1: 1.5 })).toThrow(/lambda1/)
  })

  it("random heads are in range, fixed per seed, and every head occurs over seeds; fresh-head seeds differ per row and seed", () => {
    const seen = new Set<number>()
    for (let seed = 0; seed < 64; seed++) {
      const h = randomHead(seed, 1, 3)
      expect(h).toBe(randomHead(seed, 1, 3))
      expect(h).toBeGreaterThanOrEqual(0)
      expect(h).toBeLessThan(3)
      seen.add(h)
    }
    expect([...seen].sort()).toEqual([0, 1, 2])
    const seeds = new Set([0, 1, 2].flatMap((seed) => [0, 1].map((i) => freshHeadSeed(seed, i))))
    expect(seeds.size).toBe(6)
    for (const x of seeds) expect(Number.isInteger(x) && x >= 0).toBe(true)
  })
})
