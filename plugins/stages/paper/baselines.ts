/**
 * The comparison rows of the paper's Table 2, trained by the same loop and
 * recipe as `paper/joint-distill` (`runDistill`: same student
 * initialisation, batches, augmentation, cosine schedule, AdamW; the same
 * `recipeFields` config fields):
 *
 * - `paper/train-student`: the student alone on its CE, no teacher (the
 *   paper's "Baseline (DeiT-Ti, no KD)");
 * - `paper/kd-single`: two-stage KD from ONE teacher that was fine-tuned
 *   (adapted, sec. 3.1) first and stays frozen: L = CE_S + l1 · T²·KL(p_T ||
 *   p_S), eq. 1 with a single teacher (the `kd-output` loss with `lambda` 1
 *   and the teacher in its `cl` slot, role `teacher`); l1 is the weight of
 *   the `kd-output` term (default 1: the whole KD mass of eq. 1 on the one
 *   teacher, as l1 + (1 - l1) = 1 in the two-teacher case), T its
 *   `temperature` (default 1). The paper's "KD (teacher fine-tuned first)".
 *
 * With l1 = 0 the KD term is skipped and kd-single trains exactly what
 * train-student trains (same seed: bit-identical weights).
 */
import { Effect, Schema } from "effect"
import { Config, Stage } from "../../../dsl/index.ts"
import { type LossTerm, LossTerms } from "../../losses/compose.ts"
import { splitFiles } from "../../datasets/splits.ts"
import { AdaptedTeacher } from "./artifact.ts"
import { recipeFields, runDistill } from "./distill.ts"
import { DistilledStudent } from "./distilledArtifact.ts"

const STUDENT = "paper/train-student"
const KD_SINGLE = "paper/kd-single"

/** The student's CE (the baseline's whole loss, and the first term of every other row). */
export const studentCe: LossTerm = { key: "ce", name: "ce/student", params: { model: "student" } }

/** Single-teacher output KD as loss terms: CE_S + l1 · T²·KL(p_teacher || p_S) (eq. 1 with one teacher, role `teacher`). */
export const kdSingleLossTerms = (o: { readonly l1?: number; readonly temperature?: number } = {}): ReadonlyArray<LossTerm> => [
  studentCe,
  { key: "kd-output", weight: o.l1 ?? 1, params: { lambda: 1, temperature: o.temperature ?? 1, cl: "teacher" } },
]

/** Settings of {@link trainStudent}: the joint-distill recipe, without teachers or KD terms. */
export const TrainStudentConfig = Schema.Struct(recipeFields)
export type TrainStudentConfig = typeof TrainStudentConfig.Type

/** Settings of {@link kdSingle}: the joint-distill recipe plus the loss (roles `student`, `teacher`). */
export const KdSingleConfig = Schema.Struct({
  ...recipeFields,
  /** CE_S + l1 · KD (eq. 1, one teacher); l1 is the `kd-output` term's weight, T its `temperature`. */
  losses: Config.withDefault(LossTerms, kdSingleLossTerms()),
})
export type KdSingleConfig = typeof KdSingleConfig.Type

/** Table 2's baseline: the student trained alone on its CE, by the joint-distill recipe. */
export const trainStudent = Stage.make({
  name: STUDENT,
  description: "the student alone on its CE (paper, Table 2 baseline), the joint-distill recipe, resumable per epoch",
  config: TrainStudentConfig,
  inputs: {},
  output: DistilledStudent,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config }) =>
    Effect.map(
      runDistill({ stage: STUDENT, method: "student-alone", objective: "student alone (CE, no KD)", recipe: config, losses: [studentCe], distilledLayer: undefined, teachers: [] }),
      (r) => r.student,
    ),
})

/** Table 2's single-teacher KD: a frozen, fine-tuned teacher's outputs (eq. 1) into the student, by the joint-distill recipe. */
export const kdSingle = Stage.make({
  name: KD_SINGLE,
  description: "two-stage KD from one fine-tuned, frozen teacher (paper, Table 2): CE_S + l1 * output KD (eq. 1), resumable per epoch",
  config: KdSingleConfig,
  inputs: { teacher: AdaptedTeacher },
  output: DistilledStudent,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config, inputs }) => {
    const { losses, ...recipe } = config
    return Effect.map(
      runDistill({
        stage: KD_SINGLE,
        method: "kd-single",
        objective: `single-teacher KD (eq. 1) from ${inputs.teacher.info.teacher}`,
        recipe,
        losses,
        distilledLayer: undefined,
        teachers: [{ role: "teacher", weights: inputs.teacher, mode: "frozen" }],
      }),
      (r) => r.student,
    )
  },
})
