/**
 * Pipelines: stages composed into a DAG, with fan-out (one stage applied to
 * each of N items) and presets (named config overrides).
 *
 * The builder types every connection: an input can only be wired to a node
 * whose output artifact is the one the input declares, so a mis-wired
 * pipeline does not compile. `build()` validates again at run time (for
 * pipelines assembled dynamically): cycles, missing inputs, duplicate names,
 * unknown names with "did you mean".
 *
 * @example
 * export default Pipeline.make("paper")
 *   .stage("data", loadData, { config: { dataset: "fashion-mnist" } })
 *   .stage("teacher", pretrain, { inputs: { data: "data" } })
 *   .fanOut("evaluate", evaluate, { inputs: { model: "teacher" }, over: { fmnist: { dataset: "fmnist" } } })
 *   .preset("smoke", { teacher: { epochs: 1 } })
 *   .build()
 */
import { Effect } from "effect"
import type { ArtifactType, Many } from "./Artifact.ts"
import { PipelineDefinitionError, UnknownNameError, type DefinitionProblem } from "./errors.ts"
import { suggest } from "./Names.ts"
import { topoSort } from "./internal/graph.ts"
import type { AnyStage, ConfigInput, InputSpec, ServicesOf } from "./Stage.ts"

/** What the builder knows of a named node at the type level. */
interface NodeType {
  readonly output: ArtifactType<string, any> | Many<ArtifactType<string, any>>
  readonly config: unknown
}

type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

/** Names of nodes whose output fits input spec `T` exactly. */
export type NodesProducing<Nodes extends Record<string, NodeType>, T extends InputSpec> = {
  [N in keyof Nodes]: Exact<Nodes[N]["output"], T> extends true ? N : never
}[keyof Nodes] &
  string

/**
 * What an input may be wired to: a node producing its artifact; for an
 * `Artifact.many(T)` input, a fan-out group producing `T`, or a list
 * ("gather") of nodes producing `T` and groups producing `T`.
 */
export type InputSource<Nodes extends Record<string, NodeType>, T extends InputSpec> =
  T extends Many<infer A> ? NodesProducing<Nodes, T> | ReadonlyArray<NodesProducing<Nodes, A> | NodesProducing<Nodes, T>> : NodesProducing<Nodes, T>

/** The wiring of a stage's inputs to upstream node names, checked by type. */
export type Wiring<Nodes extends Record<string, NodeType>, I extends Record<string, InputSpec>> = {
  readonly [K in keyof I]: InputSource<Nodes, I[K]>
}

/** Config overrides for a stage: any subset of its encoded config. */
export type ConfigPatch<S extends AnyStage> = Partial<ConfigInput<S>>

/** Preset overrides, keyed by node or fan-out group name. */
export type PresetOverrides<Nodes extends Record<string, NodeType>> = {
  readonly [N in keyof Nodes]?: Partial<Nodes[N]["config"]>
}

/** One node of a built pipeline: a stage instance with its wiring and config. */
export interface PipelineNode {
  readonly name: string
  readonly stage: AnyStage
  /** Input name -> upstream node or fan-out group name, or a list of them (gather into an `Artifact.many` input). */
  readonly inputs: Readonly<Record<string, WiredSource>>
  /** Config as written (encoded side), before presets; decoded by the runtime. */
  readonly config: Readonly<Record<string, unknown>>
  /** Set on the items a fan-out expands into. */
  readonly group: { readonly name: string; readonly item: string } | undefined
}

/** A fan-out group: its items are nodes named `group[item]`. */
export interface FanOutGroup {
  readonly name: string
  readonly stage: AnyStage
  readonly items: ReadonlyArray<string>
  /** Upper bound on items running at once; undefined: the runtime's worker count. */
  readonly concurrency: number | undefined
}

/** A validated pipeline. `R` are the services its stages need beyond `StageContext`. */
export interface Pipeline<R = never> {
  readonly _tag: "Pipeline"
  readonly name: string
  readonly description: string
  /** Nodes in a topological order (fan-out items expanded). */
  readonly nodes: ReadonlyArray<PipelineNode>
  readonly groups: ReadonlyMap<string, FanOutGroup>
  readonly presets: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>
  /** Phantom: services required. */
  readonly "~services"?: R
}

/** Name of the node for one item of a fan-out group. */
export const itemNodeName = (group: string, item: string): string => `${group}[${item}]`

/** An input's wiring: a node or group name, or a list of them (gathered into an `Artifact.many` input). */
export type WiredSource = string | ReadonlyArray<string>

/** The names an input's wiring refers to (nodes or groups, as written). */
export const sourceNames = (source: WiredSource): ReadonlyArray<string> => (typeof source === "string" ? [source] : source)

/**
 * The nodes feeding an input, in order, each with the item name its
 * `Artifact.many` value carries: a group's items by item name; a gathered
 * list by node name (a group in the list contributes its item nodes, named
 * `group[item]`). A single-node wiring gives one entry.
 */
export const inputSources = (
  pipeline: Pick<Pipeline<any>, "groups">,
  source: WiredSource,
): ReadonlyArray<{ readonly item: string; readonly node: string }> => {
  const expand = (name: string, byItem: boolean) => {
    const group = pipeline.groups.get(name)
    if (group === undefined) return [{ item: name, node: name }]
    return group.items.map((item) => ({ item: byItem ? item : itemNodeName(name, item), node: itemNodeName(name, item) }))
  }
  return typeof source === "string" ? expand(source, true) : source.flatMap((name) => expand(name, false))
}

/** Whether an input's wiring delivers several values (a fan-out group or a gathered list). */
export const isManySource = (pipeline: Pick<Pipeline<any>, "groups">, source: WiredSource): boolean =>
  typeof source !== "string" || pipeline.groups.has(source)

const NODE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/

/** Untyped node declaration, for pipelines assembled dynamically. */
export interface NodeDeclaration {
  readonly name: string
  readonly stage: AnyStage
  readonly inputs?: Readonly<Record<string, WiredSource>>
  readonly config?: Readonly<Record<string, unknown>>
  /** When set, the node is a fan-out group over these items (item -> config patch). */
  readonly over?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly concurrency?: number
}

/**
 * Validate declarations and build a pipeline. Throws `PipelineDefinitionError`
 * listing every problem found.
 */
export const fromDeclarations = <R = never>(
  name: string,
  declarations: ReadonlyArray<NodeDeclaration>,
  presets: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>> = {},
  description = "",
): Pipeline<R> => {
  const problems: Array<DefinitionProblem> = []
  const declared = new Map<string, NodeDeclaration>()
  const unknownSource = (node: string, input: string, from: string): DefinitionProblem => {
    const hint = suggest(from, declared.keys())
    return {
      kind: "unknown-name",
      message: `node "${node}": input "${input}" refers to unknown node "${from}"${hint.length > 0 ? ` (did you mean ${hint.map((h) => `"${h}"`).join(" or ")}?)` : ""}`,
    }
  }
  for (const d of declarations) {
    if (!NODE_NAME.test(d.name)) {
      problems.push({ kind: "invalid-name", message: `node name "${d.name}" is invalid: expected letters, digits, '_' and '-', starting with a letter` })
    }
    if (declared.has(d.name)) problems.push({ kind: "duplicate-name", message: `node "${d.name}" is declared twice` })
    else declared.set(d.name, d)
  }
  for (const d of declared.values()) {
    const given = d.inputs ?? {}
    for (const [input, spec] of Object.entries(d.stage.inputs)) {
      const from = given[input]
      if (from === undefined) {
        problems.push({ kind: "missing-input", message: `node "${d.name}" (stage ${d.stage.name}): input "${input}" is not connected` })
        continue
      }
      const wantsMany = spec._tag === "Many"
      const wanted = spec._tag === "Many" ? spec.of.name : spec.name
      if (typeof from !== "string") {
        if (!wantsMany) {
          problems.push({ kind: "wrong-input", message: `node "${d.name}": input "${input}" expects one ${wanted}, but is wired to a list (${from.map((f) => `"${f}"`).join(", ")}); only Artifact.many inputs gather lists` })
          continue
        }
        const seen = new Set<string>()
        for (const f of from) {
          if (seen.has(f)) problems.push({ kind: "duplicate-name", message: `node "${d.name}": input "${input}" lists "${f}" twice` })
          seen.add(f)
          const upstream = declared.get(f)
          if (upstream === undefined) {
            problems.push(unknownSource(d.name, input, f))
            continue
          }
          if (upstream.stage.output.name !== wanted) {
            problems.push({
              kind: "wrong-input",
              message: `node "${d.name}": input "${input}" gathers ${wanted}, but "${f}" produces ${upstream.over !== undefined ? `a fan-out of ${upstream.stage.output.name}` : upstream.stage.output.name}`,
            })
          }
        }
        continue
      }
      const upstream = declared.get(from)
      if (upstream === undefined) {
        problems.push(unknownSource(d.name, input, from))
        continue
      }
      const isGroup = upstream.over !== undefined
      if (wantsMany !== isGroup || upstream.stage.output.name !== wanted) {
        problems.push({
          kind: "wrong-input",
          message: `node "${d.name}": input "${input}" expects ${wantsMany ? `all items of a fan-out producing ${wanted}` : wanted}, but "${from}" produces ${isGroup ? `a fan-out of ${upstream.stage.output.name}` : upstream.stage.output.name}`,
        })
      }
    }
    for (const input of Object.keys(given)) {
      if (!(input in d.stage.inputs)) {
        const hint = suggest(input, Object.keys(d.stage.inputs))
        problems.push({
          kind: "unknown-input",
          message: `node "${d.name}": stage ${d.stage.name} has no input "${input}"${hint.length > 0 ? ` (did you mean "${hint[0]}"?)` : ""}`,
        })
      }
    }
    if (d.over !== undefined && Object.keys(d.over).length === 0) {
      problems.push({ kind: "missing-input", message: `fan-out "${d.name}" has no items` })
    }
  }
  for (const [preset, overrides] of Object.entries(presets)) {
    for (const target of Object.keys(overrides)) {
      if (!declared.has(target)) {
        const hint = suggest(target, declared.keys())
        problems.push({
          kind: "unknown-name",
          message: `preset "${preset}" overrides unknown node "${target}"${hint.length > 0 ? ` (did you mean ${hint.map((h) => `"${h}"`).join(" or ")}?)` : ""}`,
        })
      }
    }
  }
  const sorted = topoSort([...declared.values()].map((d) => ({ name: d.name, deps: Object.values(d.inputs ?? {}).flatMap(sourceNames) })))
  if ("cycle" in sorted) {
    problems.push({ kind: "cycle", message: `cycle: ${sorted.cycle.map((n) => `"${n}"`).join(" needs ")}` })
  }
  if (problems.length > 0 || !("order" in sorted)) throw new PipelineDefinitionError({ pipeline: name, problems })

  const nodes: Array<PipelineNode> = []
  const groups = new Map<string, FanOutGroup>()
  for (const n of sorted.order) {
    const d = declared.get(n)!
    const base = { stage: d.stage, inputs: d.inputs ?? {}, config: d.config ?? {} }
    if (d.over === undefined) {
      nodes.push({ name: d.name, ...base, group: undefined })
      continue
    }
    groups.set(d.name, { name: d.name, stage: d.stage, items: Object.keys(d.over), concurrency: d.concurrency })
    for (const [item, patch] of Object.entries(d.over)) {
      nodes.push({ name: itemNodeName(d.name, item), ...base, config: { ...base.config, ...patch }, group: { name: d.name, item } })
    }
  }
  return { _tag: "Pipeline", name, description, nodes, groups, presets }
}

/** Typed, immutable pipeline builder. Start one with `make`. */
export class PipelineBuilder<Nodes extends Record<string, NodeType> = {}, R = never> {
  constructor(
    readonly name: string,
    private readonly declarations: ReadonlyArray<NodeDeclaration>,
    private readonly presetTable: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>,
    private readonly text: string,
  ) {}

  /** Add a stage instance named `name`, wired to upstream nodes by name. */
  stage<const N extends string, S extends AnyStage>(
    name: N & (N extends keyof Nodes ? "error: this node name is already used" : N),
    stage: S,
    options: ([keyof S["inputs"]] extends [never] ? { readonly inputs?: {} } : { readonly inputs: Wiring<Nodes, S["inputs"]> }) & {
      readonly config?: ConfigPatch<S>
    },
  ): PipelineBuilder<Nodes & { readonly [K in N]: { readonly output: S["output"]; readonly config: ConfigInput<S> } }, R | ServicesOf<S>> {
    return new PipelineBuilder(
      this.name,
      [...this.declarations, { name, stage, inputs: options.inputs ?? {}, config: options.config ?? {} }],
      this.presetTable,
      this.text,
    )
  }

  /**
   * Apply `stage` to each item of `over` (item name -> config patch), as nodes
   * `name[item]` that run concurrently (at most `concurrency` at once). A
   * downstream input declared with `Artifact.many(T)` receives every item.
   */
  fanOut<const N extends string, S extends AnyStage>(
    name: N & (N extends keyof Nodes ? "error: this node name is already used" : N),
    stage: S,
    options: ([keyof S["inputs"]] extends [never] ? { readonly inputs?: {} } : { readonly inputs: Wiring<Nodes, S["inputs"]> }) & {
      readonly over: Readonly<Record<string, ConfigPatch<S>>>
      readonly config?: ConfigPatch<S>
      readonly concurrency?: number
    },
  ): PipelineBuilder<Nodes & { readonly [K in N]: { readonly output: Many<S["output"]>; readonly config: ConfigInput<S> } }, R | ServicesOf<S>> {
    const decl: NodeDeclaration = {
      name,
      stage,
      inputs: options.inputs ?? {},
      config: options.config ?? {},
      over: options.over,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    }
    return new PipelineBuilder(this.name, [...this.declarations, decl], this.presetTable, this.text)
  }

  /** Named config overrides, applied with `--preset NAME`. */
  preset(name: string, overrides: PresetOverrides<Nodes>): PipelineBuilder<Nodes, R> {
    const table = overrides as Readonly<Record<string, Readonly<Record<string, unknown>>>>
    return new PipelineBuilder(this.name, this.declarations, { ...this.presetTable, [name]: table }, this.text)
  }

  /** A one-paragraph description shown by `ssl-kd graph` and in reports. */
  describe(text: string): PipelineBuilder<Nodes, R> {
    return new PipelineBuilder(this.name, this.declarations, this.presetTable, text)
  }

  /** Validate and freeze. Throws `PipelineDefinitionError` listing every problem. */
  build(): Pipeline<R> {
    return fromDeclarations<R>(this.name, this.declarations, this.presetTable, this.text)
  }
}

/** Start a pipeline. */
export const make = (name: string): PipelineBuilder => new PipelineBuilder(name, [], {}, "")

/** Look up a preset's overrides, failing with "did you mean" for unknown names. */
export const presetOverrides = (
  pipeline: Pipeline<any>,
  preset: string | undefined,
): Effect.Effect<Readonly<Record<string, Readonly<Record<string, unknown>>>>, UnknownNameError> => {
  if (preset === undefined) return Effect.succeed({})
  const table = pipeline.presets[preset]
  if (table !== undefined) return Effect.succeed(table)
  const known = Object.keys(pipeline.presets)
  return Effect.fail(new UnknownNameError({ what: `preset of pipeline ${pipeline.name}`, name: preset, known, suggestions: suggest(preset, known) }))
}

/** Resolve a node or group name given by a user (e.g. `--force`), with "did you mean". */
export const resolveNodeNames = (pipeline: Pipeline<any>, name: string): Effect.Effect<ReadonlyArray<string>, UnknownNameError> => {
  const exact = pipeline.nodes.filter((n) => n.name === name || n.group?.name === name).map((n) => n.name)
  if (exact.length > 0) return Effect.succeed(exact)
  const known = [...new Set(pipeline.nodes.flatMap((n) => (n.group === undefined ? [n.name] : [n.group.name, n.name])))]
  return Effect.fail(new UnknownNameError({ what: `stage of pipeline ${pipeline.name}`, name, known, suggestions: suggest(name, known) }))
}

/**
 * A pipeline whose shape depends on the preset: one built pipeline per
 * preset name, for scales that differ in more than config values (e.g.
 * teachers loaded from checkpoint files instead of pretrained, or one seed
 * versus three). `ssl-kd run file.ts --preset NAME` picks the member named
 * NAME (and applies that member's own preset NAME, if it defines one);
 * without `--preset`, the `default` member runs.
 *
 * @example
 * const build = (scale: "smoke" | "demo") => Pipeline.make("paper")...build()
 * export default Pipeline.family("paper", { smoke: build("smoke"), demo: build("demo") }, "demo")
 */
export interface PipelineFamily<R = never, K extends string = string> {
  readonly _tag: "PipelineFamily"
  readonly name: string
  readonly members: Readonly<Record<K, Pipeline<R>>>
  readonly default: K
}

/** Bundle per-preset pipelines; each member gets an (empty) preset of its own name if it lacks one. */
export const family = <const M extends Record<string, Pipeline<any>>>(
  name: string,
  members: M,
  defaultMember: keyof M & string,
): PipelineFamily<M[keyof M] extends Pipeline<infer R> ? R : never, keyof M & string> => {
  const problems: Array<DefinitionProblem> = []
  if (Object.keys(members).length === 0) problems.push({ kind: "missing-input", message: `pipeline family "${name}" has no members` })
  if (!(defaultMember in members)) problems.push({ kind: "unknown-name", message: `pipeline family "${name}": default member "${defaultMember}" is not one of ${Object.keys(members).map((m) => `"${m}"`).join(", ")}` })
  if (problems.length > 0) throw new PipelineDefinitionError({ pipeline: name, problems })
  const withOwnPreset = Object.fromEntries(
    Object.entries(members).map(([preset, p]) => [preset, preset in p.presets ? p : { ...p, presets: { ...p.presets, [preset]: {} } }]),
  )
  return { _tag: "PipelineFamily", name, members: withOwnPreset as never, default: defaultMember }
}

/** The member of a family for `preset` (its default when undefined), failing with "did you mean" for unknown names. */
export const familyMember = <R>(f: PipelineFamily<R>, preset: string | undefined): Effect.Effect<Pipeline<R>, UnknownNameError> => {
  const chosen = preset ?? f.default
  const member = (f.members as Readonly<Record<string, Pipeline<R> | undefined>>)[chosen]
  if (member !== undefined) return Effect.succeed(member)
  const known = Object.keys(f.members)
  return Effect.fail(new UnknownNameError({ what: `preset of pipeline ${f.name}`, name: chosen, known, suggestions: suggest(chosen, known) }))
}

/**
 * A node declaration for pipelines assembled by code (loops over seeds,
 * datasets or scales) with `fromDeclarations`: the config (and a fan-out's
 * item patches) is type-checked against the stage and every input must be
 * wired; which upstream produces what is checked by `fromDeclarations`.
 *
 * @example
 * const nodes = seeds.map((s) => Pipeline.node(`student-s${s}`, trainStudent, { config: { seed: s } }))
 */
export const node = <S extends AnyStage>(
  name: string,
  stage: S,
  options: ([keyof S["inputs"]] extends [never] ? { readonly inputs?: {} } : { readonly inputs: { readonly [K in keyof S["inputs"]]: WiredSource } }) & {
    readonly config?: ConfigPatch<S>
    readonly over?: Readonly<Record<string, ConfigPatch<S>>>
    readonly concurrency?: number
  },
): NodeDeclaration => ({
  name,
  stage,
  inputs: (options.inputs ?? {}) as Readonly<Record<string, WiredSource>>,
  config: (options.config ?? {}) as Readonly<Record<string, unknown>>,
  ...(options.over === undefined ? {} : { over: options.over as Readonly<Record<string, Readonly<Record<string, unknown>>>> }),
  ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
})
