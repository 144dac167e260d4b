/**
 * `paper/joint-distill`: the paper's joint optimization (sec. 3.4, eq. 4)
 * over N teachers. A student ViT learns from teachers i = 1..N while each
 * teacher that is not frozen trains its Partial-1 parameters (head, last
 * block, final norm) on its own CE:
 *
 *   L = CE_S + sum_i CE_i + kdWeight · L_KD + attentionWeight · L_Attn
 *   L_KD   = sum_i lambda_i T²·KL(p_i || p_S)                       (eq. 1)
 *   L_Attn = sum_i w_i KL(A_i[h_i] || A_S[s_i]), row by row          (eq. 3)
 *
 * with h_i the teacher's head chosen by Attention Confidence (eq. 2, a
 * `HeadSelection`, which also fixes the teacher's layer) or named
 * explicitly, and s_i the student head it lands on (in the student's
 * `distilledLayer`). The KD terms read the teachers through a stop-gradient:
 * teachers learn from their own CE only.
 *
 * Teachers are a table (`teachers`, one row per teacher) over three gathered
 * inputs (`Artifact.many`, wired to lists of node names; a row names its
 * teacher and its head selection by node name):
 *
 * - `pretrained` (`TeacherWeights`): teachers that enter SSL-pretrained.
 *   They get a fresh head for the task, initialised from the row's
 *   `headSeed` (default: `freshHeadSeed(seed, i)`, a hash of the stage seed
 *   and the row index, so the student's initialisation, batch order and
 *   augmentation, which `seed` alone fixes, are the same in every arm of a
 *   seed), and their Partial-1 training happens here: the paper's true one
 *   stage (METHOD.md sec. 3.4).
 * - `adapted` (`AdaptedTeacher`): teachers that already have their head
 *   (warm start from Partial-1, or a frozen fully fine-tuned teacher for
 *   two-stage output KD).
 * - `heads` (`HeadSelection`): eq. 2 selections the rows' `attention.heads`
 *   name (any list, possibly empty).
 *
 * The paper's two-teacher case, `paperTeachers(...)`: CL row lambda 0.5 and
 * attention weight l2 onto student head 0, MIM row lambda 0.5 and attention
 * weight 1 - l2 onto student head 1 (l2 = 0). The named knobs `lambda1` and
 * `lambda2` (absent by default) rewrite a two-row table: lambda = [l1, 1 - l1]
 * and attention weights [l2, 1 - l2] (both rows then need `attention`); with
 * another row count they are refused. So `--set ours.lambda1=0.7` works as
 * before, and the results of the two-teacher table are bit-identical to the
 * earlier fixed `cl` / `mim` stage (test/fixtures/joint/two-teacher.json).
 *
 * The output is the `DistilledStudent`, with every teacher the run trained
 * as it ended (`trainedTeachers`, mode `joint partial-1`; `paper/joint-teacher`
 * reads one out for `paper/evaluate-teacher`).
 */
import { Effect, Schema } from "effect"
import { Artifact, Config, Stage } from "../../../dsl/index.ts"
import type { ManyValue } from "../../../dsl/Artifact.ts"
import type { LossTerm } from "../../losses/compose.ts"
import { TeacherWeights } from "../../teachers/artifact.ts"
import { StageConfigError } from "../../training/errors.ts"
import { splitFiles } from "../../datasets/splits.ts"
import { HeadSelection } from "./acSelect.ts"
import { AdaptedTeacher } from "./artifact.ts"
import { type DistillTeacher, recipeFields, runDistill } from "./distill.ts"
import { DistilledStudent, ROLE } from "./distilledArtifact.ts"

const NAME = "paper/joint-distill"
const NonNeg = Config.NonNegative
const Head = Config.IntAtLeast(0)

/** A teacher's eq. 3 pair: its head selection (by node name), weight, the student head it lands on, an explicit teacher head. */
export const JointAttention = Schema.Struct({
  /** The `HeadSelection` (an item of the `heads` input, i.e. its node name) whose layer and AC head eq. 3 reads. */
  heads: Schema.String,
  /** w_i of eq. 3 (0: the pair is skipped). */
  weight: Config.withDefault(NonNeg, 0),
  /** s_i: the student head of the distilled layer the teacher's map is distilled onto. */
  studentHead: Config.withDefault(Head, 0),
  /** h_i: the teacher head to distil, instead of the AC choice (eq. 2) or the `headChoice: random` draw (an ablation). */
  head: Schema.optional(Head),
})

/** One row of the teacher table. */
export const JointTeacherRow = Schema.Struct({
  /** The teacher: an item of `pretrained` or `adapted` (its node name). */
  teacher: Schema.String,
  /** Its loss role: names its inputs and log components (`ce/<role>`, `kd-output/<role>`); default: `teacher`. Letters, digits, `_`, `-`. */
  role: Schema.optional(Schema.String),
  /** lambda_i of eq. 1. */
  lambda: Config.withDefault(NonNeg, 0),
  /** `partial-1`: trains head, last block and final norm on its own CE here (eq. 4); `frozen`: two-stage KD (adapted teachers only). */
  mode: Config.withDefault(Schema.Literals(["partial-1", "frozen"]), "partial-1"),
  /** Its eq. 3 pair; absent: the teacher gives logits only. */
  attention: Schema.optional(JointAttention),
  /** Seed of the fresh head of a `pretrained` teacher (default `freshHeadSeed(seed, row index)`). */
  headSeed: Schema.optional(Schema.Int),
})
export type JointTeacherRow = typeof JointTeacherRow.Type

/** Settings of {@link jointDistill}: the shared recipe, the teacher table, and the paper's named knobs. */
export const JointConfig = Schema.Struct({
  ...recipeFields,
  teachers: Config.withDefault(Schema.Array(JointTeacherRow), []),
  /** l1 of eq. 1 for a two-row table: lambda = [l1, 1 - l1] (absent: the table's). */
  lambda1: Schema.optional(Config.UnitInterval),
  /** l2 of eq. 3 for a two-row table: attention weights [l2, 1 - l2] (absent: the table's). */
  lambda2: Schema.optional(Config.UnitInterval),
  /** KD temperature T (eq. 1). */
  temperature: Config.withDefault(Config.Positive, 1),
  /** Weights of L_KD and L_Attn in eq. 4 (1, 1; 0 drops the term, e.g. ours without attention KD). */
  kdWeight: Config.withDefault(NonNeg, 1),
  attentionWeight: Config.withDefault(NonNeg, 1),
  /** The teacher heads eq. 3 distils without an explicit `attention.head`: `ac`, eq. 2's choice; `random`, drawn from `seed` and the row index. */
  headChoice: Config.withDefault(Schema.Literals(["ac", "random"]), "ac"),
  /** The student's distilled block (negative from the end; -1: the last). */
  distilledLayer: Config.withDefault(Schema.Int, -1),
})
export type JointConfig = typeof JointConfig.Type

export interface JointInputs {
  readonly pretrained: ManyValue<typeof TeacherWeights>
  readonly adapted: ManyValue<typeof AdaptedTeacher>
  readonly heads: ManyValue<typeof HeadSelection>
}

const mix = (a: number, b: number, c1: number, c2: number): number => {
  let z = (Math.imul(a | 0, c1) + Math.imul(b + 1, c2)) | 0
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
  return (z ^ (z >>> 15)) >>> 0
}

/** A head in [0, heads) drawn from `seed` and the teacher's row index (splitmix32): the random-head ablation of eq. 3. */
export const randomHead = (seed: number, teacher: number, heads: number): number => mix(seed, teacher, 0x9e3779b9, 0x85ebca6b) % Math.max(1, heads)

/** The default seed of row `teacher`'s fresh head: a hash of the stage seed and the row index, apart from the student's seed stream. */
export const freshHeadSeed = (seed: number, teacher: number): number => mix(seed, teacher, 0x7feb352d, 0x846ca68b) & 0x7fffffff

/**
 * The paper's two-teacher table (sec. 3.2-3.4): CL then MIM, lambda 0.5
 * each (eq. 1, l1 = 0.5), attention from the CL teacher's AC head onto
 * student head 0 with weight l2 = 0 and from the MIM teacher's onto student
 * head 1 with weight 1 - l2 = 1 (eq. 3). Roles `cl`, `mim`.
 */
export const paperTeachers = (o: { readonly cl: string; readonly mim: string; readonly clHeads?: string; readonly mimHeads?: string; readonly mode?: "partial-1" | "frozen" }) => {
  const row = (teacher: string, role: string, heads: string | undefined, weight: number, studentHead: number) => ({
    teacher, role, lambda: 0.5, mode: o.mode ?? "partial-1", ...(heads === undefined ? {} : { attention: { heads, weight, studentHead } }),
  })
  return [row(o.cl, "cl", o.clHeads, 0, 0), row(o.mim, "mim", o.mimHeads, 1, 1)]
}

/** The table resolved against the inputs: the teachers of `runDistill` and eq. 4's loss terms; or the first config error. */
export const jointPlan = (c: JointConfig, inputs: JointInputs) =>
  Effect.gen(function* () {
    const bad = (field: string, value: unknown, expected: string) => new StageConfigError({ stage: NAME, field, value: JSON.stringify(value), expected })
    const rows = c.teachers
    if (rows.length === 0) return yield* bad("teachers", [], "at least one teacher row ({ teacher, lambda, attention? })")
    if ((c.lambda1 !== undefined || c.lambda2 !== undefined) && rows.length !== 2) {
      return yield* bad(c.lambda1 !== undefined ? "lambda1" : "lambda2", c.lambda1 ?? c.lambda2, `unset: lambda1 / lambda2 are the two-teacher knobs, the table has ${rows.length} rows (set each row's lambda / attention.weight)`)
    }
    const names = (xs: ReadonlyArray<{ readonly item: string }>) => xs.map((x) => x.item).join(", ") || "none"
    const teachers: Array<DistillTeacher> = []
    const kd: Array<{ role: string; weight: number }> = []
    const attention: Array<{ role: string; weight: number; head: number; studentHead: number }> = []
    for (const [i, row] of rows.entries()) {
      const role = row.role ?? row.teacher
      const field = `teachers[${i}]`
      if (!ROLE.test(role) || role === "student") return yield* bad(`${field}.role`, role, "letters, digits, '_' or '-', starting with a letter, not \"student\"")
      if (teachers.some((t) => t.role === role)) return yield* bad(`${field}.role`, role, "a role no other row has")
      const pre = inputs.pretrained.find((x) => x.item === row.teacher)
      const ada = inputs.adapted.find((x) => x.item === row.teacher)
      if (pre !== undefined && ada !== undefined) return yield* bad(`${field}.teacher`, row.teacher, "a name in only one of the inputs pretrained / adapted")
      if (pre === undefined && ada === undefined) {
        return yield* bad(`${field}.teacher`, row.teacher, `an item of input pretrained (${names(inputs.pretrained)}) or adapted (${names(inputs.adapted)})`)
      }
      const lambda = c.lambda1 === undefined ? row.lambda : i === 0 ? c.lambda1 : 1 - c.lambda1
      let selection: DistillTeacher["selection"]
      let head: number | undefined
      if (row.attention !== undefined) {
        const a = row.attention
        selection = inputs.heads.find((x) => x.item === a.heads)?.value
        if (selection === undefined) return yield* bad(`${field}.attention.heads`, a.heads, `an item of input heads (${names(inputs.heads)})`)
        head = a.head ?? (c.headChoice === "random" ? randomHead(c.seed, i, selection.perHead.length) : undefined)
        const weight = c.lambda2 === undefined ? a.weight : i === 0 ? c.lambda2 : 1 - c.lambda2
        attention.push({ role, weight, head: head ?? selection.best, studentHead: a.studentHead })
      } else if (c.lambda2 !== undefined) {
        return yield* bad(`${field}.attention`, null, "an attention pair on both rows when lambda2 is set")
      }
      kd.push({ role, weight: lambda })
      teachers.push({
        role,
        weights: pre?.value ?? ada!.value,
        mode: row.mode,
        ...(selection === undefined ? {} : { selection }),
        ...(head === undefined ? {} : { head }),
        ...(pre === undefined ? {} : { freshHead: { seed: row.headSeed ?? freshHeadSeed(c.seed, i) } }),
      })
    }
    const losses: Array<LossTerm> = [
      { key: "ce", name: "ce/student", params: { model: "student" } },
      ...teachers.filter((t) => t.mode === "partial-1").map((t): LossTerm => ({ key: "ce", name: `ce/${t.role}`, params: { model: t.role } })),
      { key: "kd-output", weight: c.kdWeight, params: { temperature: c.temperature, teachers: kd } },
      ...(attention.length === 0 ? [] : [{ key: "kd-attention", weight: c.attentionWeight, params: { teachers: attention } }]),
    ]
    return { teachers, losses, attention: attention.length > 0 }
  })

/** The stage's work; also returns the teachers' final weights by role and the trained teachers. */
export const runJointDistill = (c: JointConfig, inputs: JointInputs) =>
  Effect.gen(function* () {
    const { teachers: _rows, lambda1: _l1, lambda2: _l2, temperature: _t, kdWeight: _k, attentionWeight: _a, headChoice, distilledLayer, ...recipe } = c
    const plan = yield* jointPlan(c, inputs)
    const oneStage = plan.teachers.some((t) => t.freshHead !== undefined)
    return yield* runDistill({
      stage: NAME,
      method: "joint",
      objective: `joint distillation (eq. 4)${headChoice === "random" ? ", random teacher heads for eq. 3" : ""}${oneStage ? ", teachers from SSL-pretrained weights" : ""}`,
      recipe,
      losses: plan.losses,
      distilledLayer: plan.attention ? distilledLayer : undefined,
      teachers: plan.teachers,
      recordTeachers: true,
    })
  })

/** Eq. 4 over N teachers: joint distillation of a student, the teachers training Partial-1 alongside. */
export const jointDistill = Stage.make({
  name: NAME,
  description: "joint distillation over N teachers (paper, sec. 3.4, eq. 4): output KD (eq. 1) + AC-selected attention KD (eq. 3), teachers SSL-pretrained (one stage) or adapted, resumable per epoch",
  config: JointConfig,
  inputs: { pretrained: Artifact.many(TeacherWeights), adapted: Artifact.many(AdaptedTeacher), heads: Artifact.many(HeadSelection) },
  output: DistilledStudent,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config, inputs }) => Effect.map(runJointDistill(config, inputs), (r) => r.student),
})
