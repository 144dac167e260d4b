/**
 * Checks and wiring of `paper/joint-distill` (sec. 3.4) that need no tensors:
 * the student's description, each teacher against the student, the data and
 * its head selection (eq. 2). All run before any model is built, so a
 * mismatch fails at once, naming the field, the value and what fits.
 */
import { createHash } from "node:crypto"
import type { FloatTensor } from "../../checkpoints/timmFilter.ts"
import type { ImageSet } from "../../datasets/ImageSet.ts"
import type { VitConfig } from "../../models/vit/config.ts"
import type { TeacherInfo, TeacherWeightsValue } from "../../teachers/artifact.ts"
import { StageConfigError } from "../../training/errors.ts"
import type { HeadSelectionValue } from "./acSelect.ts"
import type { AdaptedTeacherValue } from "./artifact.ts"
import { DistillTokenMismatch, tokenCount } from "./distillStep.ts"

/** The student as a `TeacherInfo` (input size, channels, the dataset's normalization), so loaders and `teacherInput` read it. */
export const studentInfo = (
  arch: string,
  config: VitConfig,
  normalization: { readonly mean: ReadonlyArray<number>; readonly std: ReadonlyArray<number> },
  seed: number,
): TeacherInfo => ({
  teacher: `student ${arch}`,
  family: "other",
  arch,
  config,
  normalization: { mean: [...normalization.mean], std: [...normalization.std] },
  origin: { kind: "random", seed },
  losses: { epochs: [], steps: [] },
})

/**
 * The first reason `teacher` (its loss role) and its head selection cannot
 * serve `student` on `set` (an in-memory set or a split's `SplitMeta`), or `undefined`. An adapted teacher's head must
 * have been trained on `set`'s classes; an SSL-pretrained one (no
 * `adaptation`) gets a fresh head, so only its input fits. Without a
 * selection (output KD only, no attention map read) the token counts need not
 * match: the teacher sees the batch resized to its own input size.
 */
export const checkTeacher = (
  stage: string,
  role: string,
  teacher: AdaptedTeacherValue | TeacherWeightsValue,
  selection: HeadSelectionValue | undefined,
  student: TeacherInfo,
  set: Pick<ImageSet, "name" | "classes" | "channels">,
): StageConfigError | DistillTokenMismatch | undefined => {
  const t = teacher.info
  const bad = (field: string, value: unknown, expected: string) => new StageConfigError({ stage, field, value: JSON.stringify(value), expected })
  if (selection !== undefined && tokenCount(t.config) !== tokenCount(student.config)) {
    return new DistillTokenMismatch({ stage, role, teacher: t.teacher, teacherConfig: t.config, student: student.arch, studentConfig: student.config })
  }
  const classes = "adaptation" in teacher ? teacher.adaptation.classes : set.classes
  if (classes.length !== set.classes.length || classes.some((c, i) => c !== set.classes[i])) {
    return bad(role, classes, `a teacher adapted to the classes of ${set.name} (${set.classes.join(", ")})`)
  }
  if (set.channels !== t.config.inChans && set.channels !== 1) {
    return bad("dataset", `${set.name} (${set.channels} channels)`, `${t.config.inChans} channels, or 1 (grey, repeated) for ${role} teacher ${t.teacher}`)
  }
  if (selection === undefined) return undefined
  if (selection.teacher !== t.teacher) return bad(`${role}Heads.teacher`, selection.teacher, `the ${role} teacher's name, ${t.teacher} (a selection made on another teacher)`)
  if (!(selection.layer >= 0 && selection.layer < t.config.depth)) {
    return bad(`${role}Heads.layer`, selection.layer, `a block of ${t.teacher} (0..${t.config.depth - 1})`)
  }
  if (!(selection.best >= 0 && selection.best < t.config.numHeads)) {
    return bad(`${role}Heads.best`, selection.best, `a head of ${t.teacher} (0..${t.config.numHeads - 1})`)
  }
  return undefined
}

/**
 * sha256 (hex, 16 chars) of a model state in name order: each name, shape
 * and float32 bytes. A joint run records each teacher's at step 0
 * (`startDigest`), so what it started from (pretrained backbone + fresh
 * head, or an adapted teacher) can be checked.
 */
export const stateDigest = (state: ReadonlyMap<string, FloatTensor>): string => {
  const hash = createHash("sha256")
  for (const name of [...state.keys()].sort()) {
    const t = state.get(name)!
    hash.update(`${name}[${t.shape.join(",")}]\u0000`).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
  }
  return hash.digest("hex").slice(0, 16)
}
