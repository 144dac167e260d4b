/**
 * ssl-kd's pipeline language: what a pipeline author imports. Pure: no I/O,
 * no tensors. `runtime/` executes what this describes.
 */
export * as Artifact from "./Artifact.ts"
export * as Config from "./Config.ts"
export * as Names from "./Names.ts"
export * as Pipeline from "./Pipeline.ts"
export { Registry, type Registration } from "./Registry.ts"
export * as Stage from "./Stage.ts"
export { type MetricRecord, StageContext, type Progress } from "./StageContext.ts"
export { ConfigError, DuplicateNameError, PipelineDefinitionError, UnknownNameError, type ConfigIssue, type DefinitionProblem, type NodeConfigIssues } from "./errors.ts"
export * as Teacher from "./Teacher.ts"
