/**
 * Figure 1's chart, shared by `teachers/attention-figure` and `paper/report`:
 * by default it draws exactly what the figure stage drew before the chart was
 * shared (same title, axes, names `teacher (family)`, values), and the report
 * may rename the lines and retitle it.
 */
import { expect, it } from "vitest"
import { lineChartSvg } from "../../../../plugins/analysis/plot.ts"
import { FIGURE1_TITLE, figure1Chart } from "../../../../plugins/stages/teachers/analysis/figureStage.ts"
import { inputs } from "./fixtures.ts"

const curves = inputs.attention.map((a) => a.value)

it("draws the figure stage's chart unchanged by default", () => {
  const before = lineChartSvg({
    title: "Mean attention distance per layer (paper, Figure 1)",
    xLabel: "layer",
    yLabel: "mean attention distance (px)",
    series: curves.map((c) => ({ name: `${c.teacher} (${c.family})`, values: c.mean })),
  })
  expect(FIGURE1_TITLE).toBe("Mean attention distance per layer (paper, Figure 1)")
  expect(lineChartSvg(figure1Chart(curves))).toBe(before)
})

it("takes a title and line names", () => {
  const svg = lineChartSvg(figure1Chart(curves, { title: "T", name: (c) => `${c.teacher}!` }))
  expect(svg).toContain(">T</text>")
  expect(svg).toContain(">mae!</text>")
  expect(svg).toContain(">dino!</text>")
})
