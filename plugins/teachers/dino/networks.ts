/**
 * The networks of a DINO pretraining (Caron et al. 2021, sec. 3.1, Fig. 2):
 * a student ViT with its projection head, a momentum teacher of the same
 * shape initialised as a copy of the student, the center, and the student's
 * AdamW. Parameter names follow DINO's `MultiCropWrapper` state_dict:
 * `backbone.<timm name>` and `head.<DINOHead name>`.
 */
import * as tf from "@tensorflow/tfjs-core"
import { createVit, disposeVit, type VitModel } from "../../models/vit/model.ts"
import type { VitConfig } from "../../models/vit/config.ts"
import { createDinoHead, type DinoHead, type DinoHeadConfig, disposeDinoHead } from "../../objectives/dinoHead.ts"
import { AdamW } from "../../training/adamw.ts"
import type { DinoPretrainConfig } from "./config.ts"

export interface DinoNetworks {
  readonly student: VitModel
  readonly studentHead: DinoHead
  readonly teacher: VitModel
  readonly teacherHead: DinoHead
  /** The center c of eq. 4, [1, K]. */
  readonly center: tf.Variable
  /** Student parameters by MultiCropWrapper name (all, trainable or not). */
  readonly studentParams: ReadonlyMap<string, tf.Variable>
  readonly teacherParams: ReadonlyMap<string, tf.Variable>
  /** What the optimizer updates: the student's trainable parameters. */
  readonly trainable: ReadonlyMap<string, tf.Variable>
  readonly optimizer: AdamW
}

const wrapped = (model: VitModel, head: DinoHead): Map<string, tf.Variable> =>
  new Map([...[...model.params].map(([k, v]) => [`backbone.${k}`, v] as const), ...[...head.params].map(([k, v]) => [`head.${k}`, v] as const)])

/** The head's settings from the stage config. */
export const headConfig = (vit: VitConfig, c: DinoPretrainConfig): DinoHeadConfig => ({
  inDim: vit.embedDim,
  outDim: c.outDim,
  hiddenDim: c.headHiddenDim,
  bottleneckDim: c.headBottleneckDim,
  nlayers: c.headLayers,
  normLastLayer: c.normLastLayer,
  useBn: c.headUseBn,
})

/**
 * Allocates student, teacher (= student's initial weights), center and
 * optimizer; the backbones with DINO's initialisation (`createVit` scheme
 * `dino`). Dispose with {@link disposeDinoNetworks}.
 */
export const createDinoNetworks = (arch: string, vit: VitConfig, c: DinoPretrainConfig): DinoNetworks => {
  const student = createVit(arch, vit, c.seed, "dino")
  const studentHead = createDinoHead(headConfig(vit, c), c.seed)
  const teacher = createVit(arch, vit, c.seed, "dino")
  const teacherHead = createDinoHead(headConfig(vit, c), c.seed)
  const studentParams = wrapped(student, studentHead)
  const teacherParams = wrapped(teacher, teacherHead)
  for (const [k, t] of teacherParams) {
    const s = studentParams.get(k)
    if (s !== undefined) t.assign(s)
  }
  const trainable = new Map([...studentParams].filter(([, v]) => v.trainable))
  return {
    student,
    studentHead,
    teacher,
    teacherHead,
    center: tf.tidy(() => tf.variable(tf.zeros([1, c.outDim]), false)),
    studentParams,
    teacherParams,
    trainable,
    optimizer: new AdamW(trainable),
  }
}

/** Every variable the training changes, for the per-epoch checkpoint. */
export const dinoStateVars = (n: DinoNetworks): ReadonlyMap<string, tf.Variable> =>
  new Map([
    ...[...n.studentParams].map(([k, v]) => [`student.${k}`, v] as const),
    ...[...n.teacherParams].map(([k, v]) => [`teacher.${k}`, v] as const),
    ["center", n.center] as const,
    ...n.optimizer.state(),
  ])

export const disposeDinoNetworks = (n: DinoNetworks): void => {
  disposeVit(n.student)
  disposeVit(n.teacher)
  disposeDinoHead(n.studentHead)
  disposeDinoHead(n.teacherHead)
  n.center.dispose()
  n.optimizer.dispose()
}
