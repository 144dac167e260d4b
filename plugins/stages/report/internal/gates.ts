/**
 * The preconditions under which Table 2 tests the paper (issue 11, part 6),
 * checked before it is read:
 *
 * 1. each SSL teacher's k-NN top-1 (best of class token and mean-patch
 *    pooling) beats the random-init ViT's (same dataset) by >= `knnOverRandom`
 *    points: the teachers learned something;
 * 2. each teacher's Partial-1 top-1 is at most `partialVsFull` points below
 *    its full fine-tuning: the paper's precondition for one-stage training;
 * 3. each student run's head top-1 is at most `headVsKnn` points below its
 *    own k-NN top-1 on the same frozen features: its head was trained to
 *    convergence (a head above its k-NN passes).
 *
 * A gate with nothing to check is "not checked"; one failing check fails its
 * gate, and a failed gate marks Table 2 "not a test of the paper".
 */

export type GateStatus = "passed" | "failed" | "not checked"

export interface GateCheck {
  readonly subject: string
  /** The measured margin in percentage points (what must reach the threshold). */
  readonly margin: number
  readonly detail: string
  readonly passed: boolean
}

export interface Gate {
  readonly id: "teachers-learned" | "partial-1-vs-full" | "head-vs-knn"
  readonly statement: string
  readonly status: GateStatus
  readonly checks: ReadonlyArray<GateCheck>
  /** Why it was not checked (empty when checked). */
  readonly missing: string
}

export interface GateThresholds {
  readonly knnOverRandom: number
  readonly partialVsFull: number
  readonly headVsKnn: number
}

export interface GateInputs {
  readonly knn: ReadonlyArray<{ readonly teacher: string; readonly family: string; readonly dataset: string; readonly pooling: string; readonly top1: number }>
  readonly adaptation: ReadonlyArray<{ readonly teacher: string; readonly mode: string; readonly top1: number }>
  /** Main-arm student runs on the primary dataset (not the exploratory `x-` arms). */
  readonly students: ReadonlyArray<{ readonly label: string; readonly seed: number; readonly protocol: string; readonly top1: number; readonly knnTop1: number }>
}

const pt = (x: number): string => (x * 100).toFixed(2)
const signed = (x: number): string => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`

const gate = (id: Gate["id"], statement: string, checks: ReadonlyArray<GateCheck>, missing: string): Gate => ({
  id,
  statement,
  checks,
  missing: checks.length === 0 ? missing : "",
  status: checks.length === 0 ? "not checked" : checks.every((c) => c.passed) ? "passed" : "failed",
})

/**
 * True for the random-init reference among k-NN results: `teachers/random`
 * names it "<teacher> (random init)". Not the family: a user's SSL teacher
 * may be of family "other" (iBOT is both contrastive and MIM).
 */
export const isRandomInit = (r: { readonly teacher: string }): boolean => /\(random init\)$/.test(r.teacher)

const teachersLearned = (i: GateInputs, t: GateThresholds): Gate => {
  const best = (rs: GateInputs["knn"]) => rs.reduce<GateInputs["knn"][number] | undefined>((b, r) => (b === undefined || r.top1 > b.top1 ? r : b), undefined)
  const ssl = [...new Set(i.knn.filter((r) => !isRandomInit(r)).map((r) => `${r.teacher}\u0000${r.dataset}`))].sort()
  const checks = ssl.flatMap((key): Array<GateCheck> => {
    const [teacher = "", dataset = ""] = key.split("\u0000")
    const mine = best(i.knn.filter((r) => r.teacher === teacher && r.dataset === dataset))
    const random = best(i.knn.filter((r) => isRandomInit(r) && r.dataset === dataset))
    if (mine === undefined || random === undefined) return []
    const margin = (mine.top1 - random.top1) * 100
    return [{ subject: teacher, margin, passed: margin >= t.knnOverRandom, detail: `k-NN ${pt(mine.top1)}% (${mine.pooling}) vs random init ${pt(random.top1)}% (${random.pooling}) on ${dataset}: ${signed(margin)} pt (needs >= +${t.knnOverRandom})` }]
  })
  return gate("teachers-learned", `each SSL teacher's k-NN top-1 beats the random-init ViT by >= ${t.knnOverRandom} points`, checks, i.knn.length === 0 ? "no k-NN results were gathered (wire teachers/knn nodes into the report's knn input)" : "k-NN of the SSL teachers and of the random-init ViT on one dataset are both needed")
}

const partialVsFull = (i: GateInputs, t: GateThresholds): Gate => {
  const teachers = [...new Set(i.adaptation.map((r) => r.teacher))].sort()
  const top1 = (teacher: string, mode: string) => {
    const rs = i.adaptation.filter((r) => r.teacher === teacher && r.mode === mode)
    return rs.length === 0 ? undefined : rs.reduce((a, r) => a + r.top1, 0) / rs.length
  }
  const checks = teachers.flatMap((teacher): Array<GateCheck> => {
    const p1 = top1(teacher, "partial-1")
    const full = top1(teacher, "full")
    if (p1 === undefined || full === undefined) return []
    const margin = (p1 - full) * 100
    return [{ subject: teacher, margin, passed: margin >= -t.partialVsFull, detail: `Partial-1 ${pt(p1)}% vs fine-tuning ${pt(full)}%: ${signed(margin)} pt (needs >= -${t.partialVsFull})` }]
  })
  return gate("partial-1-vs-full", `each teacher's Partial-1 top-1 is within ${t.partialVsFull} points of its full fine-tuning`, checks, "needs Partial-1 and fine-tuning scores of a teacher (Table 1)")
}

const headVsKnn = (i: GateInputs, t: GateThresholds): Gate => {
  const checks = i.students
    .filter((s) => s.protocol === "head")
    .map((s) => {
      const margin = (s.top1 - s.knnTop1) * 100
      return { subject: `${s.label} (seed ${s.seed})`, margin, passed: margin >= -t.headVsKnn, detail: `head ${pt(s.top1)}% vs its k-NN ${pt(s.knnTop1)}%: ${signed(margin)} pt (needs >= -${t.headVsKnn})` }
    })
  return gate("head-vs-knn", `each student's head top-1 is within ${t.headVsKnn} points of its own k-NN top-1 (trained to convergence)`, checks, "no student was scored by its head on the primary dataset")
}

/** The three gates. */
export const gates = (i: GateInputs, t: GateThresholds): ReadonlyArray<Gate> => [teachersLearned(i, t), partialVsFull(i, t), headVsKnn(i, t)]
