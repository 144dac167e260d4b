/**
 * SSL objectives: the math of the DINO and MAE teachers' pretraining, model
 * independent (they take tensors, not models): losses, DINO's head, center,
 * teacher EMA and schedules, MAE's patchify.
 *
 * @example
 * const loss = dinoLoss(studentLogits, teacherLogits, center, { studentViews: 6, teacherTemp: temps.at(epoch) })
 * const next = updateCenter(center, teacherLogits)
 */
export { checkDinoLoss, dinoLoss, type DinoLossOptions, updateCenter } from "./dino.ts"
export {
  checkDinoHeadConfig,
  createDinoHead,
  type DinoHead,
  type DinoHeadConfig,
  dinoHeadForward,
  dinoHeadLastLayerNames,
  type DinoHeadParamSpec,
  dinoHeadParamSpecs,
  disposeDinoHead,
  l2Normalize,
} from "./dinoHead.ts"
export { checkEmaPair, emaUpdate } from "./ema.ts"
export { InvalidObjectiveConfig, ScheduleOutOfRange, ShapeMismatch, UnmatchedParameter } from "./errors.ts"
export { checkMaeLoss, type HostPatchMask, maeLoss, type MaeLossOptions, maskTensor } from "./mae.ts"
export { checkPatchify, patchify, unpatchify, type UnpatchifyOptions } from "./patchify.ts"
export {
  cosineSchedule,
  type CosineScheduleOptions,
  dinoLrSchedule,
  type Schedule,
  teacherMomentumSchedule,
  teacherTempSchedule,
} from "./schedules.ts"
export { stopGradient } from "./stopGradient.ts"
