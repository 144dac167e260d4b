/**
 * `teachers/attention-figure`: the paper's Figure 1 at this project's scale:
 * mean attention distance per layer (mean over heads), one line per teacher
 * (contrastive, masked-image-modeling, and a random-init reference), as SVG
 * and PNG, with the numbers and the deep-layer comparison in
 * `figure1.json`. The paper's observation: in deep layers the CL teacher
 * attends more globally (larger distance) than the MIM teacher.
 */
import { Effect, Schema } from "effect"
import { Artifact, Stage, StageContext } from "../../../../dsl/index.ts"
import type { ValueOf } from "../../../../dsl/Artifact.ts"
import { type LineChart, lineChartSvg, svgToPng } from "../../../analysis/plot.ts"
import { TrainingStepError } from "../../../training/errors.ts"
import { AttentionDistances } from "./attentionStage.ts"

export const AttentionFigure = Artifact.files("AttentionFigure")

type Curve = ValueOf<typeof AttentionDistances>

/** Mean over the deeper half of the layers (the paper's "deep layers"). */
export const deepMean = (c: Curve): number => {
  const deep = c.mean.slice(Math.floor(c.mean.length / 2))
  return deep.reduce((a, b) => a + b, 0) / Math.max(1, deep.length)
}

/** Figure 1's default title. */
export const FIGURE1_TITLE = "Mean attention distance per layer (paper, Figure 1)"

/**
 * Figure 1 as a chart: one line per curve (mean over heads per layer, layers
 * counted from 1), named `teacher (family)` unless `name` says otherwise.
 * Shared by this stage and `paper/report`.
 */
export const figure1Chart = <C extends Pick<Curve, "teacher" | "family" | "mean">>(
  curves: ReadonlyArray<C>,
  o: { readonly title?: string; readonly name?: (c: C) => string } = {},
): LineChart => ({
  title: o.title ?? FIGURE1_TITLE,
  xLabel: "layer",
  yLabel: "mean attention distance (px)",
  series: curves.map((c) => ({ name: o.name?.(c) ?? `${c.teacher} (${c.family})`, values: c.mean })),
})

const utf8 = new TextEncoder()

export const attentionFigure = Stage.make({
  name: "teachers/attention-figure",
  description: "Figure 1: mean attention distance per layer, contrastive vs masked-image-modeling teacher (SVG + PNG)",
  config: Schema.Struct({}),
  inputs: { contrastive: AttentionDistances, masked: AttentionDistances, reference: AttentionDistances },
  output: AttentionFigure,
  run: ({ inputs }) =>
    Effect.gen(function* () {
      const ctx = yield* StageContext
      const curves = [inputs.contrastive, inputs.masked, inputs.reference]
      const svg = lineChartSvg(figure1Chart(curves))
      const png = yield* Effect.tryPromise({
        try: () => svgToPng(svg),
        catch: (e) => new TrainingStepError({ stage: "teachers/attention-figure", epoch: 0, step: 0, reason: `PNG rendering failed: ${String(e)}` }),
      })
      const deep = { contrastive: deepMean(inputs.contrastive), masked: deepMean(inputs.masked), reference: deepMean(inputs.reference) }
      const holds = deep.contrastive > deep.masked
      const observation = `deep layers (upper half): ${inputs.contrastive.teacher} ${deep.contrastive.toFixed(2)} px vs ${inputs.masked.teacher} ${deep.masked.toFixed(2)} px (random init ${deep.reference.toFixed(2)} px): the paper's observation (CL more global in deep layers) ${holds ? "holds" : "does not hold"} here`
      yield* ctx.log(observation)
      const summary = { curves, deepLayerMean: deep, contrastiveMoreGlobalInDeepLayers: holds, observation }
      return new Map([
        ["figure1.svg", utf8.encode(svg)],
        ["figure1.png", new Uint8Array(png)],
        ["figure1.json", utf8.encode(JSON.stringify(summary, null, 2))],
      ])
    }),
})
