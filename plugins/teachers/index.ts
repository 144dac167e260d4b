/**
 * Teachers: the registry of SSL teachers (`defineTeacher` in dsl/Teacher.ts),
 * the built-in DINO (contrastive) and MAE (masked-image-modeling) teachers,
 * and the `TeacherWeights` artifact every teacher stage produces or reads.
 *
 * @example
 * Effect.runSync(teachers.register("my-cl", defineTeacher({ name: "my-cl", ... })))
 */
export { archFields, DEFAULT_PRETRAIN_ARCH, resolveArch } from "./architecture.ts"
export { LossCurves, modelFromWeights, modelState, TeacherInfo, TeacherWeights, type TeacherWeightsValue, WeightOrigin } from "./artifact.ts"
export { dinoTeacher, maeTeacher, teachers, Teachers } from "./builtins.ts"
export * from "./errors.ts"
export { makeTeacherRegistry, type TeacherRegistry } from "./registry.ts"
