/**
 * The attention-distance line chart: deterministic SVG with axis labels,
 * ticks, one polyline and legend entry per teacher, escaped names, typed
 * refusals; the grouped bar chart (Figure 3): one labelled bar per value,
 * "n/a" for a missing one, multi-line group labels; and a PNG of the SVG's
 * size through sharp.
 */
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { barChartSvg, InvalidAnalysisOption, lineChartSvg, svgToPng } from "../../../plugins/analysis/index.ts"

const chart = {
  title: "Mean attention distance",
  series: [
    { name: "DINO", values: [40, 55, 70, 90] },
    { name: "MAE <MIM>", values: [35, 30, 28, 25] },
  ],
}

describe("lineChartSvg", () => {
  it("is deterministic and carries labels, ticks, lines and legend", () => {
    const svg = lineChartSvg(chart)
    expect(lineChartSvg(chart)).toBe(svg)
    // 400 for the plot, then the legend below it: 4 + 18 per series + 4.
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="444"')).toBe(true)
    expect(svg).toContain(">layer</text>")
    expect(svg).toContain(">mean attention distance (px)</text>")
    expect(svg).toContain(">Mean attention distance</text>")
    expect(svg.match(/<polyline /g)?.length).toBe(2)
    expect(svg.match(/<circle /g)?.length).toBe(8)
    expect(svg).toContain(">DINO</text>")
    expect(svg).toContain(">MAE &lt;MIM&gt;</text>")
    // y ticks 0, 20, ..., 100 (max 90); x ticks 1..4.
    for (const t of ["0", "20", "40", "60", "80", "100"]) expect(svg).toContain(`text-anchor="end">${t}</text>`)
    for (const l of ["1", "2", "3", "4"]) expect(svg).toContain(`text-anchor="middle">${l}</text>`)
  })

  it("puts the legend below the plot area, draws references dashed, and uses the Okabe-Ito palette", () => {
    const svg = lineChartSvg({ ...chart, series: [...chart.series, { name: "uniform", values: [50, 50, 50, 50], style: "dashed" }] })
    // Plot area ends at 400 - 48 = 352; legend rows at 404 + 10 + 18k.
    for (const [k, name] of ["DINO", "MAE &lt;MIM&gt;", "uniform"].entries()) expect(svg).toContain(`<text x="98" y="${404 + 10 + 18 * k + 4}">${name}</text>`)
    expect(svg.match(/<circle /g)?.length).toBe(8)
    expect(svg.match(/stroke-dasharray="6 4"/g)?.length).toBe(2)
    expect(svg).toContain('stroke="#0072B2"')
    expect(svg).toContain('stroke="#D55E00"')
    expect(svg).not.toMatch(/#d62728|#2ca02c/)
  })

  it("places points on the scale: the last point at the top right of the plot area", () => {
    const svg = lineChartSvg({ series: [{ name: "a", values: [0, 100] }], width: 200, height: 100 })
    // Margins 64/16 left/right, 16/48 top/bottom: x 64..184, y 52 (value 0) .. 16 (value 100).
    expect(svg).toContain('points="64,52 184,16"')
  })

  it("refuses an empty chart or non-finite values", () => {
    expect(() => lineChartSvg({ series: [] })).toThrowError(InvalidAnalysisOption)
    expect(() => lineChartSvg({ series: [{ name: "x", values: [1, Number.NaN] }] })).toThrowError(/series "x" = NaN is invalid; expected finite values/)
  })
})

const bars = {
  title: "Top-1",
  yLabel: "top-1 (%)",
  yMax: 100,
  groups: ["fashion-mnist\nhead", "cifar-10\nlinear-probe"],
  series: [
    { name: "baseline", values: [80, 40] },
    { name: "kd <dino>", values: [81.25] },
    { name: "ours", values: [83.5, undefined] },
  ],
}

describe("barChartSvg", () => {
  it("is deterministic; one labelled bar per value, n/a for missing ones, legend and group lines", () => {
    const svg = barChartSvg(bars)
    expect(barChartSvg(bars)).toBe(svg)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    // 4 bars + background + 3 legend swatches.
    expect(svg.match(/<rect /g)?.length).toBe(1 + 4 + 3)
    for (const v of ["80.0", "40.0", "81.3", "83.5"]) expect(svg).toContain(`>${v}</text>`)
    expect(svg.match(/>n\/a</g)?.length).toBe(2)
    expect(svg).toContain(">kd &lt;dino&gt;</text>")
    expect(svg).toContain(">linear-probe</tspan>")
    expect(svg).toContain(">top-1 (%)</text>")
    for (const t of ["0", "20", "40", "60", "80", "100"]) expect(svg).toContain(`text-anchor="end">${t}</text>`)
  })

  it("puts a bar of the axis maximum at the top of the plot area", () => {
    const svg = barChartSvg({ groups: ["a"], series: [{ name: "s", values: [10] }], yMax: 10, width: 300, height: 200 })
    // Margins: top 24, bottom 36 + 14 (one label line): the bar spans y 24 .. 150.
    expect(svg).toMatch(/<rect x="[\d.]+" y="24" width="[\d.]+" height="126" fill=/)
  })

  it("refuses no groups, no series, too many values, negative or non-finite values", () => {
    expect(() => barChartSvg({ groups: [], series: [{ name: "s", values: [] }] })).toThrowError(InvalidAnalysisOption)
    expect(() => barChartSvg({ groups: ["a"], series: [] })).toThrowError(/series = 0 is invalid/)
    expect(() => barChartSvg({ groups: ["a"], series: [{ name: "s", values: [1, 2] }] })).toThrowError(/at most one value per group/)
    expect(() => barChartSvg({ groups: ["a"], series: [{ name: "s", values: [-1] }] })).toThrowError(/finite values >= 0/)
    expect(() => barChartSvg({ groups: ["a"], series: [{ name: "s", values: [Number.POSITIVE_INFINITY] }] })).toThrowError(/finite values >= 0/)
  })
})

describe("svgToPng", () => {
  it("renders a bar chart at its pixel size", async () => {
    const svg = barChartSvg(bars)
    const [w, h] = (/width="([\d.]+)" height="([\d.]+)"/.exec(svg) ?? []).slice(1).map(Number)
    const meta = await sharp(await svgToPng(svg)).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(["png", w, h])
  })

  it("renders a PNG of the SVG's pixel size", async () => {
    const png = await svgToPng(lineChartSvg(chart))
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const meta = await sharp(png).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 640, 444])
  })
})
