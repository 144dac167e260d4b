/**
 * The report's figures as SVG: Figure 1 through the same chart as
 * `teachers/attention-figure` (`figure1Chart`), Figure 3 as grouped bars
 * (`barChartSvg`), and a placeholder that says why a figure is missing.
 */
import { barChartSvg, checkBarChart, checkLineChart, lineChartSvg, type BarChart } from "../../../analysis/plot.ts"
import { figure1Chart } from "../../teachers/analysis/figureStage.ts"
import { escapeHtml, px } from "./format.ts"
import { isRandomInit } from "./gates.ts"
import { lossChart } from "./losses.ts"
import type { ReportModel } from "./model.ts"

/** A small SVG with one line of text, in place of a figure that cannot be drawn. */
export const placeholderSvg = (message: string): string =>
  [
    `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="120" viewBox="0 0 640 120" font-family="DejaVu Sans, Arial, sans-serif" font-size="14">`,
    `<rect width="640" height="120" fill="#ffffff" stroke="#bdbdbd"/>`,
    `<text x="320" y="64" text-anchor="middle" fill="#555555">${escapeHtml(message)}</text>`,
    "</svg>",
  ].join("\n") + "\n"

/**
 * Figure 1: one line per teacher (solid, with markers), the random-init ViT
 * and uniform attention on the same grid as dashed references; the legend,
 * below the plot, carries each curve's deep-layer mean.
 */
export const figure1Svg = (m: ReportModel): string => {
  const curves = m.figure1.curves
  if (curves.length === 0) return placeholderSvg("Figure 1: not run (no attention-distance results)")
  const base = figure1Chart(curves, {
    title: "Mean attention distance per layer (cf. paper, Figure 1)",
    name: (c) => `${c.teacher} (${c.family}): deep layers ${px(c.deepMean)} px`,
  })
  const depth = Math.max(...curves.map((c) => c.mean.length))
  const u = m.figure1.uniform
  const chart = {
    ...base,
    series: [
      ...base.series.map((s, i) => (curves[i] !== undefined && isRandomInit(curves[i]) ? { ...s, style: "dashed" as const } : s)),
      ...(u === null ? [] : [{ name: `uniform attention (${u.grid}x${u.grid} patches of ${u.patchSize} px): ${px(u.px)} px`, values: Array.from({ length: depth }, () => u.px), style: "dashed" as const }]),
    ],
  }
  const bad = checkLineChart(chart)
  return bad === undefined ? lineChartSvg(chart) : placeholderSvg(`Figure 1 cannot be drawn: ${bad.message}`)
}

/** Figure 3's chart: groups = datasets (with their protocol), bars = labels, top-1 in percent on a 0-100 axis. */
export const figure3Chart = (m: ReportModel): BarChart => ({
  title: "Top-1 per downstream dataset (cf. paper, Figure 3)",
  xLabel: "downstream dataset (protocol)",
  yLabel: "top-1 (%)",
  yMax: 100,
  digits: 1,
  groups: m.figure3.map((d) => `${d.dataset}\n${d.protocols.join(" + ")}`),
  series: m.labels.map((l, k) => ({ name: l, values: m.figure3.map((d) => (d.bars[k] == null ? undefined : d.bars[k].top1 * 100)) })),
})

export const figure3Svg = (m: ReportModel): string => {
  if (m.figure3.length === 0) return placeholderSvg("Figure 3: not run (no downstream scores)")
  const chart = figure3Chart(m)
  const bad = checkBarChart(chart)
  return bad === undefined ? barChartSvg(chart) : placeholderSvg(`Figure 3 cannot be drawn: ${bad.message}`)
}

/** The loss-curve charts: SSL pretraining and students (placeholders when none was gathered). */
export const lossSvgs = (m: ReportModel): { readonly lossesTeachers: string; readonly lossesStudents: string } => {
  const draw = (title: string, curves: ReportModel["losses"]["teachers"], none: string): string => {
    if (curves.length === 0) return placeholderSvg(none)
    const chart = lossChart(title, curves)
    const bad = checkLineChart(chart)
    return bad === undefined ? lineChartSvg(chart) : placeholderSvg(`${title} cannot be drawn: ${bad.message}`)
  }
  return {
    lossesTeachers: draw("SSL pretraining: total loss per step", m.losses.teachers, "Loss curves: no SSL pretraining results were gathered"),
    lossesStudents: draw("Students: total training loss per step", m.losses.students, "Loss curves: no students were gathered"),
  }
}
