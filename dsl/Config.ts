/**
 * Config resolution: schema defaults < the node's config in the pipeline <
 * the fan-out item's patch < the preset's override < command-line `--set`.
 * Decoding happens for every node before any stage runs, so a bad value fails
 * the whole run at once, naming the stage, the field and what was expected.
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import { ConfigError, type ConfigIssue } from "./errors.ts"
import { suggest } from "./Names.ts"
import type { Pipeline, PipelineNode } from "./Pipeline.ts"

/**
 * A config field with a default, used when the field is absent.
 *
 * @example
 * Schema.Struct({ lr: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 1e-3) })
 */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

/** Common numeric fields of stage configs (errors read e.g. "Expected a value greater than 0"). */
export const IntAtLeast = (min: number) => Schema.Int.check(Schema.isGreaterThanOrEqualTo(min))
export const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
export const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
export const UnitInterval = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

type Patch = Readonly<Record<string, unknown>>

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let cur: unknown = input
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined
    cur = (cur as Record<PropertyKey, unknown>)[key]
  }
  return cur
}

const render = (v: unknown): string | undefined => {
  if (v === undefined) return undefined
  // JSON would print Infinity and NaN as null
  if (typeof v === "number" && !Number.isFinite(v)) return String(v)
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

/** The top-level field names of a struct config schema (empty for other schemas). */
const fieldNames = (schema: unknown): ReadonlyArray<string> => {
  // Schemas are functions as well as objects.
  const fields = (typeof schema === "object" || typeof schema === "function") && schema !== null && "fields" in schema ? (schema as { fields: unknown }).fields : undefined
  return typeof fields === "object" && fields !== null ? Object.keys(fields) : []
}

/** The merged (encoded) config of a node under the given overrides. */
export const mergedConfig = (node: PipelineNode, overrides: ReadonlyArray<Patch | undefined>): Record<string, unknown> => {
  const merged: Record<string, unknown> = { ...node.config }
  for (const o of overrides) if (o !== undefined) Object.assign(merged, o)
  return merged
}

/** Decode one node's merged config with its stage's schema. */
export const decodeNodeConfig = (
  pipeline: Pipeline<any>,
  node: PipelineNode,
  merged: Record<string, unknown>,
): Effect.Effect<unknown, ConfigError> =>
  Schema.decodeUnknownEffect(node.stage.config)(merged, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError((err) => {
      const issues: Array<ConfigIssue> = formatter(err.issue).issues.map((i) => {
        const path = (i.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p)) as Array<PropertyKey>
        const actual = render(valueAt(merged, path))
        // Fields with defaults accept `undefined` on the encoded side; once a value is given, that is noise.
        let expected = actual === undefined ? i.message : i.message.replace(/ \| undefined\b/g, "")
        // A misspelt field (`--set ours.lamda1=0.7`): name the close ones and the fields there are.
        const fields = path.length === 1 && /excess property/.test(i.message) ? fieldNames(node.stage.config) : []
        if (fields.length > 0) {
          const hint = suggest(String(path[0]), fields)
          expected = `unknown field${hint.length > 0 ? `; did you mean ${hint.map((h) => `"${h}"`).join(" or ")}?` : ""} (fields of ${node.stage.name}: ${fields.join(", ")})`
        }
        return { field: path.map(String).join("."), expected, actual }
      })
      return new ConfigError({ pipeline: pipeline.name, nodes: [{ node: node.name, stage: node.stage.name, issues }] })
    }),
  )

/**
 * Decode every node's config under a preset's overrides (keyed by node or
 * fan-out group name) and command-line overrides; all errors are collected.
 */
export const resolveConfigs = (
  pipeline: Pipeline<any>,
  preset: Readonly<Record<string, Patch>>,
  cli: Readonly<Record<string, Patch>> = {},
): Effect.Effect<ReadonlyMap<string, unknown>, ConfigError> =>
  Effect.forEach(
    pipeline.nodes,
    (node) => {
      const group = node.group?.name
      const merged = mergedConfig(node, [
        group === undefined ? undefined : preset[group],
        preset[node.name],
        group === undefined ? undefined : cli[group],
        cli[node.name],
      ])
      return Effect.result(decodeNodeConfig(pipeline, node, merged).pipe(Effect.map((config) => [node.name, config] as const)))
    },
  ).pipe(
    Effect.flatMap((results) => {
      const bad = results.flatMap((r) => (Result.isFailure(r) ? r.failure.nodes : []))
      if (bad.length > 0) return Effect.fail(new ConfigError({ pipeline: pipeline.name, nodes: bad }))
      return Effect.succeed(new Map(results.flatMap((r) => (Result.isSuccess(r) ? [r.success] : []))))
    }),
  )
