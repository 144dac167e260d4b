/**
 * `ssl-kd graph <pipeline.ts> --format mermaid|dot|json`
 *
 * The pipeline's DAG, fan-out items expanded, for docs and reviews.
 */
import { Effect } from "effect"
import { inputSources, type Pipeline } from "../../../dsl/Pipeline.ts"
import { parse, requirePositional, UsageError } from "../args.ts"
import type { CliCommand } from "../Command.ts"
import { loadPipeline } from "../loadPipeline.ts"

const usage = "ssl-kd graph <pipeline.ts> [--format mermaid|dot|json] [--preset P]"

interface Edge {
  readonly from: string
  readonly to: string
  readonly input: string
}

export const edges = (p: Pipeline<any>): ReadonlyArray<Edge> =>
  p.nodes.flatMap((n) =>
    Object.entries(n.inputs).flatMap(([input, from]) => inputSources(p, from).map((s) => ({ from: s.node, to: n.name, input }))),
  )

const mermaidId = (name: string) => name.replace(/[^A-Za-z0-9_]/g, "_")

export const toMermaid = (p: Pipeline<any>): string =>
  [
    "flowchart LR",
    ...p.nodes.map((n) => `  ${mermaidId(n.name)}["${n.name}<br/><small>${n.stage.name}</small>"]`),
    ...edges(p).map((e) => `  ${mermaidId(e.from)} -->|${e.input}| ${mermaidId(e.to)}`),
  ].join("\n")

export const toDot = (p: Pipeline<any>): string =>
  [
    `digraph ${JSON.stringify(p.name)} {`,
    "  rankdir=LR;",
    ...p.nodes.map((n) => `  ${JSON.stringify(n.name)} [label=${JSON.stringify(`${n.name}\n${n.stage.name}`)}, shape=box];`),
    ...edges(p).map((e) => `  ${JSON.stringify(e.from)} -> ${JSON.stringify(e.to)} [label=${JSON.stringify(e.input)}];`),
    "}",
  ].join("\n")

export const toJson = (p: Pipeline<any>) => ({
  pipeline: p.name,
  description: p.description,
  nodes: p.nodes.map((n) => ({ name: n.name, stage: n.stage.name, output: n.stage.output.name, group: n.group ?? null, config: n.config })),
  edges: edges(p),
  presets: Object.keys(p.presets),
})

export const command: CliCommand = {
  name: "graph",
  summary: "print the pipeline's DAG as mermaid, dot or json",
  usage,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parse("graph", usage, argv, { format: { type: "string" }, preset: { type: "string" } })
      const file = yield* requirePositional("graph", usage, positionals, 0, "the pipeline file")
      const format = values.format ?? "mermaid"
      if (format !== "mermaid" && format !== "dot" && format !== "json") {
        return yield* new UsageError({ command: "graph", usage, problem: `--format ${format}: expected mermaid, dot or json` })
      }
      const p = yield* loadPipeline(file, io.cwd, values.preset)
      io.out(format === "mermaid" ? toMermaid(p) : format === "dot" ? toDot(p) : JSON.stringify(toJson(p), null, 2))
      return 0
    }),
}
