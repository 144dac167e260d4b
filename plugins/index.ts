/**
 * The plugins' public surface: what a pipeline author, or a user adding a
 * teacher, loss or dataset in their own file, imports (with `dsl/index.ts`
 * for the language). Everything not exported here or by `dsl/index.ts` is
 * internal and may change.
 *
 * - the paper's stages and the teachers' stages, to declare pipelines;
 * - the registries (`teachers`, `losses`, `datasets`, `models`) and the
 *   built-in teachers;
 * - what a new SSL teacher is built from: the ViT (create, embed, blocks,
 *   final norm), data (loader, augmentations, seeded `Rng`, a dataset split),
 *   the SSL objectives (DINO's loss, head, schedules; MAE's loss; EMA), the
 *   training loop (`runEpochs`: per-epoch checkpoint and resume), AdamW and
 *   clipping, and `pretrainedTeacher` (the `TeacherWeights` a pretraining
 *   stage returns). `examples/ibot/` uses nothing else.
 *
 * @example
 * import { Pipeline } from "../dsl/index.ts"
 * import { jointDistill, pretrainDino, pretrainMae } from "../plugins/index.ts"
 */
export * from "./models/index.ts"
export { block, type BlockOutput } from "./models/vit/block.ts"
export { embedTokens } from "./models/vit/embed.ts"
export * from "./datasets/index.ts"
export { imagesToTensor, labelsToTensor, oneHotLabels } from "./datasets/tensors.ts"
export * from "./objectives/index.ts"
export * from "./losses/index.ts"
export * from "./teachers/index.ts"
export * from "./analysis/index.ts"
export * from "./checkpoints/index.ts"
export { AdamW, type AdamWOptions, decays } from "./training/adamw.ts"
export { clipPerParameter } from "./training/clip.ts"
export { type EpochLoop, type EpochLoopResult, runEpochs } from "./training/epochs.ts"
export { runIdentity } from "./training/resume.ts"
export { NonFiniteLoss, ResumeStateError, StageConfigError, TrainingStepError } from "./training/errors.ts"
// Teacher stages and what a pretraining stage is built from.
export { loadSplit, splitFiles } from "./datasets/splits.ts"
export { pretrainedTeacher, pretrainFields, trainingConfig } from "./teachers/pretrainFields.ts"
export { DinoPretrainConfig } from "./teachers/dino/config.ts"
export { createDinoNetworks, type DinoNetworks, dinoStateVars, disposeDinoNetworks, headConfig } from "./teachers/dino/networks.ts"
export { dinoSchedules, type DinoSchedules, dinoStep } from "./teachers/dino/step.ts"
export { pretrainDino } from "./teachers/dino/stage.ts"
export { MaePretrainConfig } from "./teachers/mae/config.ts"
export { pretrainMae } from "./teachers/mae/stage.ts"
export { loadTeacherCheckpoint, randomTeacher } from "./stages/teachers/load.ts"
export { knnEvaluate } from "./stages/teachers/analysis/knnStage.ts"
export { attentionDistance } from "./stages/teachers/analysis/attentionStage.ts"
export { attentionFigure } from "./stages/teachers/analysis/figureStage.ts"
// The paper's stages.
export { acSelect, acSelectPretrained, HeadSelection } from "./stages/paper/acSelect.ts"
export { adaptTeacher } from "./stages/paper/adapt.ts"
export { AdaptedTeacher } from "./stages/paper/artifact.ts"
export { kdSingle, trainStudent } from "./stages/paper/baselines.ts"
export { DistilledStudent } from "./stages/paper/distilledArtifact.ts"
export { evaluate } from "./stages/paper/downstream.ts"
export { evaluateTeacher } from "./stages/paper/evaluate.ts"
export { exportStudent } from "./stages/paper/export.ts"
export { JointAttention, JointConfig, jointDistill, JointTeacherRow, paperTeachers } from "./stages/paper/joint.ts"
export { jointTeacher } from "./stages/paper/jointTeacher.ts"
export { paperReport, seedWords } from "./stages/report/report.ts"
// The backend service a tensor stage requires (`yield* TensorBackend` before the first tensor).
export { TensorBackend } from "../runtime/backend/TensorBackend.ts"
