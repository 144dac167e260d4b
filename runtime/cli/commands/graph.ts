/**
 * `ssl-kd graph <pipeline.ts> --format mermaid|dot|json`
 *
 * The pipeline's DAG, fan-out items expanded, for docs and reviews.
 */
import { Effect } from "effect"
import { inputSources, type Pipeline } from "../../../dsl/Pipeline.ts"
import { parseWith, requirePositional, UsageError } from "../args.ts"
import type { CommandHelp } from "../help.ts"
import { pipelineOptions, presetHelp } from "../session.ts"
import type { CliCommand } from "../Command.ts"
import { loadPipeline } from "../loadPipeline.ts"

const usage = "ssl-kd graph <pipeline.ts> [--format mermaid|dot|json] [--preset P]"

export const help = {
  usage,
  summary: "Print a pipeline's DAG (fan-out items expanded) as mermaid, dot or json: for docs, reviews, and the list of node names.",
  args: { "<pipeline.ts>": "The pipeline file, e.g. pipelines/paper.ts." },
  options: {
    format: { type: "string", value: "mermaid|dot|json", text: "Output format (default mermaid); json also lists the presets and each node's stage and config.", example: "ssl-kd graph pipelines/paper.ts --format dot | dot -Tsvg > dag.svg" },
    preset: { ...pipelineOptions.preset, text: "For a pipeline family, the member (shape) to draw.", example: "ssl-kd graph pipelines/paper.ts --preset smoke" },
  },
} as const satisfies CommandHelp

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
  help,
  helpMore: presetHelp,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parseWith("graph", help, argv)
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
