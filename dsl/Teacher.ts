/**
 * Teachers: the declarative description of a self-supervised teacher, as the
 * paper uses two (sec. 3, "CL teacher" DINO and "MIM teacher" MAE). Pure data
 * plus pure functions: no I/O, no tensors. `plugins/teachers/` holds the
 * registry and the built-in DINO and MAE definitions; the stages that load,
 * pretrain and analyse teachers read these fields.
 *
 * A teacher says:
 * - its family (contrastive, masked-image-modeling, other);
 * - its architecture (a name in the model registry, e.g. `vitBasePatch16_224`);
 * - how to load weights: an optional default checkpoint file, the naming of
 *   the file's keys (timm) and an optional pure key map for foreign prefixes;
 * - how to pretrain it when no checkpoint is given (a pipeline stage);
 * - its input normalization (fixed mean/std, or the downstream dataset's).
 *
 * @example
 * export const myTeacher = defineTeacher({
 *   name: "my-cl",
 *   family: "contrastive",
 *   description: "DINO with 8 local crops",
 *   architecture: "vitSmallPatch4_28",
 *   weights: { naming: "timm" },
 *   pretrain: myPretrainStage,
 *   normalization: "dataset",
 * })
 */
import { Data } from "effect"
import type { AnyStage } from "./Stage.ts"

/** The kind of self-supervision a teacher was trained with (paper, sec. 1: CL vs MIM). */
export type TeacherFamily = "contrastive" | "masked-image-modeling" | "other"

export const teacherFamilies: ReadonlyArray<TeacherFamily> = ["contrastive", "masked-image-modeling", "other"]

/** Per-channel input normalization `(x - mean) / std` on pixels in [0, 1]. */
export interface TeacherNormalization {
  readonly mean: ReadonlyArray<number>
  readonly std: ReadonlyArray<number>
}

/** Where a teacher's weights come from when they are loaded from a file. */
export interface TeacherWeights {
  /** Default checkpoint file (safetensors); a pipeline may give another. Absent: pretrain locally. */
  readonly checkpoint?: string
  /** Key naming of checkpoint files; timm names are mapped by `timmCheckpointFilter`. */
  readonly naming: "timm"
  /**
   * A pure key map applied before the timm filter, for files that wrap the
   * backbone (DINO's `teacher`/`student` dicts: `backbone.blocks.0...`).
   * Return the new key, or `undefined` to drop the tensor.
   */
  readonly renameKey?: (key: string) => string | undefined
  /** Where the reference weights are published, for people (e.g. `timm vit_base_patch16_224.dino`). */
  readonly reference?: string
}

/** A teacher's description. `P` is the stage that pretrains it. */
export interface TeacherDefinition<P extends AnyStage = AnyStage> {
  readonly _tag: "Teacher"
  /** Registry key: lowercase letters, digits and `-` (e.g. `dino`). */
  readonly name: string
  readonly family: TeacherFamily
  readonly description: string
  /** Model registry name of the backbone (a ViT variant). */
  readonly architecture: string
  readonly weights: TeacherWeights
  /** The stage that pretrains the teacher when no checkpoint is given. */
  readonly pretrain: P
  /** Input normalization; `"dataset"`: the normalization of the data it is run on. */
  readonly normalization: TeacherNormalization | "dataset"
}

const TEACHER_NAME = /^[a-z][a-z0-9-]*$/

/** A teacher description whose fields do not fit; thrown by {@link defineTeacher} at definition time. */
export class InvalidTeacherDefinition extends Data.TaggedError("InvalidTeacherDefinition")<{
  readonly teacher: string
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message() {
    return `teacher "${this.teacher}": ${this.field} is ${this.value}; expected ${this.expected}`
  }
}

/**
 * Declare a teacher. Checked when declared (like a pipeline at build time):
 * the name, the family, and a normalization with one positive std per mean.
 * Throws {@link InvalidTeacherDefinition}.
 */
export const defineTeacher = <P extends AnyStage>(def: Omit<TeacherDefinition<P>, "_tag">): TeacherDefinition<P> => {
  const bad = (field: string, value: unknown, expected: string) =>
    new InvalidTeacherDefinition({ teacher: def.name, field, value: JSON.stringify(value), expected })
  if (!TEACHER_NAME.test(def.name)) throw bad("name", def.name, "lowercase letters, digits and '-', starting with a letter")
  if (!teacherFamilies.includes(def.family)) throw bad("family", def.family, `one of ${teacherFamilies.join(", ")}`)
  if (def.architecture.length === 0) throw bad("architecture", def.architecture, "a model registry name")
  const n = def.normalization
  if (n !== "dataset") {
    if (n.mean.length === 0 || n.mean.length !== n.std.length) throw bad("normalization", n, "one std per mean, at least one channel")
    if (n.std.some((s) => !(s > 0)) || n.mean.some((m) => !Number.isFinite(m))) throw bad("normalization", n, "finite means and stds > 0")
  }
  return { _tag: "Teacher", ...def }
}

/** Where a teacher's weights come from, in words (for `ssl-kd teachers`). */
export const weightSource = (t: TeacherDefinition): string =>
  t.weights.checkpoint !== undefined
    ? `checkpoint ${t.weights.checkpoint} (${t.weights.naming} names)`
    : `pretrained locally by stage ${t.pretrain.name}; or a checkpoint file with ${t.weights.naming} names`
