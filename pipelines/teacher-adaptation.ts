/**
 * The paper's Table 1 at local scale (sec. 3.1): each SSL teacher of
 * `pipelines/teachers.ts` (DINO, contrastive; MAE, masked image modeling),
 * pretrained by the very same stages and configs (so a shared cache serves
 * them), put on the downstream task by linear evaluation, Partial-1 and
 * fine-tuning; each row reports the trainable-parameter count and the test
 * top-1. The Partial-1 teachers then get their eq. 2 head table for the last
 * layer (sec. 3.3), the head eq. 3 would distil.
 *
 *   ssl-kd run pipelines/teacher-adaptation.ts --preset smoke   # synthetic data, seconds
 *   ssl-kd run pipelines/teacher-adaptation.ts --preset demo    # Fashion-MNIST, minutes on 2 cores
 */
import { Pipeline } from "../dsl/index.ts"
import type { PipelineNode } from "../dsl/Pipeline.ts"
import { acSelect } from "../plugins/stages/paper/acSelect.ts"
import { adaptTeacher } from "../plugins/stages/paper/adapt.ts"
import { evaluateTeacher } from "../plugins/stages/paper/evaluate.ts"
import { dinoTeacher, maeTeacher } from "../plugins/teachers/builtins.ts"
import teachers from "./teachers.ts"

/** A pretraining node of the teachers pipeline and its preset patches; fails at load if that pipeline changed shape. */
const pretraining = (name: "dino" | "mae", stage: PipelineNode["stage"]) => {
  const node = teachers.nodes.find((n) => n.name === name)
  if (node?.stage !== stage) {
    throw new TypeError(`pipelines/teachers.ts has no node "${name}" running stage ${stage.name}; teacher-adaptation reuses its pretraining nodes`)
  }
  return { config: node.config, smoke: teachers.presets["smoke"]?.[name] ?? {}, demo: teachers.presets["demo"]?.[name] ?? {} }
}
const dino = pretraining("dino", dinoTeacher.pretrain)
const mae = pretraining("mae", maeTeacher.pretrain)

// Demo: Fashion-MNIST, 3000 training images (as the teachers were pretrained on), 1000 test images.
// Learning rates per mode as usual for each protocol: higher for a head alone, lower the more is trained.
const demoAdapt = { dataset: "fashion-mnist", trainCount: 3000, epochs: 5, warmupEpochs: 1, batchSize: 64, cropScaleMin: 0.5, weightDecay: 0.05 }
const demoLr = { linear: 3e-3, "partial-1": 1e-3, full: 5e-4 } as const
const demoEval = { dataset: "fashion-mnist", testCount: 1000 }
const demoAc = { dataset: "fashion-mnist", calibrationCount: 256 }
const smokeAdapt = { dataset: "synthetic-shapes", trainCount: 64, epochs: 2, warmupEpochs: 0, batchSize: 16, cropScaleMin: 0.5 }
const smokeEval = { dataset: "synthetic-shapes", testCount: 32 }
const smokeAc = { dataset: "synthetic-shapes", calibrationCount: 16 }

/** The adaptation nodes, `<teacher>-<mode>`, one per row of Table 1. */
const adaptNodes = ["dino", "mae"].flatMap((t) => ["linear", "partial-1", "full"].map((m) => `${t}-${m}`))

export default Pipeline.make("teacher-adaptation")
  .describe("Table 1 analog: DINO and MAE teachers adapted by linear / Partial-1 / fine-tuning, trainable parameters and test top-1; eq. 2 head tables of the Partial-1 teachers")
  .stage("dino", dinoTeacher.pretrain, { config: dino.config })
  .stage("mae", maeTeacher.pretrain, { config: mae.config })
  .stage("dino-linear", adaptTeacher, { inputs: { teacher: "dino" }, config: { ...demoAdapt, mode: "linear", lr: demoLr.linear } })
  .stage("dino-partial-1", adaptTeacher, { inputs: { teacher: "dino" }, config: { ...demoAdapt, mode: "partial-1", lr: demoLr["partial-1"] } })
  .stage("dino-full", adaptTeacher, { inputs: { teacher: "dino" }, config: { ...demoAdapt, mode: "full", lr: demoLr.full } })
  .stage("mae-linear", adaptTeacher, { inputs: { teacher: "mae" }, config: { ...demoAdapt, mode: "linear", lr: demoLr.linear } })
  .stage("mae-partial-1", adaptTeacher, { inputs: { teacher: "mae" }, config: { ...demoAdapt, mode: "partial-1", lr: demoLr["partial-1"] } })
  .stage("mae-full", adaptTeacher, { inputs: { teacher: "mae" }, config: { ...demoAdapt, mode: "full", lr: demoLr.full } })
  .stage("top1-dino-linear", evaluateTeacher, { inputs: { teacher: "dino-linear" }, config: demoEval })
  .stage("top1-dino-partial-1", evaluateTeacher, { inputs: { teacher: "dino-partial-1" }, config: demoEval })
  .stage("top1-dino-full", evaluateTeacher, { inputs: { teacher: "dino-full" }, config: demoEval })
  .stage("top1-mae-linear", evaluateTeacher, { inputs: { teacher: "mae-linear" }, config: demoEval })
  .stage("top1-mae-partial-1", evaluateTeacher, { inputs: { teacher: "mae-partial-1" }, config: demoEval })
  .stage("top1-mae-full", evaluateTeacher, { inputs: { teacher: "mae-full" }, config: demoEval })
  .stage("ac-dino", acSelect, { inputs: { teacher: "dino-partial-1" }, config: demoAc })
  .stage("ac-mae", acSelect, { inputs: { teacher: "mae-partial-1" }, config: demoAc })
  .preset("demo", { dino: dino.demo, mae: mae.demo })
  .preset("smoke", {
    dino: dino.smoke,
    mae: mae.smoke,
    ...Object.fromEntries(adaptNodes.map((n) => [n, smokeAdapt])),
    ...Object.fromEntries(adaptNodes.map((n) => [`top1-${n}`, smokeEval])),
    "ac-dino": smokeAc,
    "ac-mae": smokeAc,
  })
  .build()
