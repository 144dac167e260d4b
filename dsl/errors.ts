/**
 * Typed errors of pipeline definitions. Each carries the data a tool needs
 * and a message a user can act on.
 */
import { Data } from "effect"

/** One problem found while validating a pipeline. */
export interface DefinitionProblem {
  readonly kind: "cycle" | "missing-input" | "unknown-input" | "duplicate-name" | "unknown-name" | "invalid-name" | "wrong-input"
  readonly message: string
}

/** A pipeline is mis-wired; every problem found is listed. */
export class PipelineDefinitionError extends Data.TaggedError("PipelineDefinitionError")<{
  readonly pipeline: string
  readonly problems: ReadonlyArray<DefinitionProblem>
}> {
  override get message() {
    return `pipeline ${this.pipeline} is invalid:\n${this.problems.map((p) => `  - ${p.message}`).join("\n")}`
  }
}

/** One bad config field. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `lr` or `optimizer.beta1`; empty for the whole config. */
  readonly field: string
  /** What was expected, in the schema's words. */
  readonly expected: string
  /** The value given (JSON-rendered), or undefined when the field was missing. */
  readonly actual: string | undefined
}

/** The config problems of one node. */
export interface NodeConfigIssues {
  readonly node: string
  readonly stage: string
  readonly issues: ReadonlyArray<ConfigIssue>
}

/** Stage configs do not decode; raised before any stage runs, listing every bad node. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly pipeline: string
  readonly nodes: ReadonlyArray<NodeConfigIssues>
}> {
  override get message() {
    return this.nodes
      .map((n) => {
        const lines = n.issues.map(
          (i) => `  - ${i.field === "" ? "(config)" : i.field}: ${i.expected}${i.actual === undefined ? "" : `, got ${i.actual}`}`,
        )
        return `invalid config for stage ${n.node} (${n.stage}) in pipeline ${this.pipeline}:\n${lines.join("\n")}`
      })
      .join("\n")
  }
}

/** A name (preset, node, stage) that does not exist, with close matches. */
export class UnknownNameError extends Data.TaggedError("UnknownNameError")<{
  readonly what: string
  readonly name: string
  readonly known: ReadonlyArray<string>
  readonly suggestions: ReadonlyArray<string>
}> {
  override get message() {
    const hint = this.suggestions.length > 0 ? ` Did you mean ${this.suggestions.map((s) => `"${s}"`).join(" or ")}?` : ""
    // A long list helps nobody on one line: with close matches, only their count; else the first few.
    const known =
      this.known.length === 0 ? " Known: (none)"
      : this.known.length <= 12 ? ` Known: ${this.known.join(", ")}`
      : this.suggestions.length > 0 ? ` (${this.known.length} known names)`
      : ` Known (${this.known.length}): ${this.known.slice(0, 8).join(", ")}, ...`
    return `unknown ${this.what} "${this.name}".${hint}${known}`
  }
}

/** A name registered twice in one registry (registrations never overwrite). */
export class DuplicateNameError extends Data.TaggedError("DuplicateNameError")<{
  /** What the registry holds, in words: "model", "dataset", "loss", "teacher", ... */
  readonly what: string
  readonly name: string
  /** `file:line` of the registration that holds the name, when known. */
  readonly registeredAt: string | undefined
}> {
  override get message() {
    const at = this.registeredAt === undefined ? "" : ` at ${this.registeredAt}`
    return `${this.what} "${this.name}" is already registered${at}; pick another name (registrations never overwrite)`
  }
}
