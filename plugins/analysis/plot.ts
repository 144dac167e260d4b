/**
 * Figure 1 of the paper as a picture: mean attention distance per layer, one
 * line per teacher. A standalone SVG string (no dependency, deterministic:
 * same input, same bytes), and a PNG rendered from it by `sharp`.
 *
 * @example
 * const svg = lineChartSvg({ series: [{ name: "DINO", values: dino.mean }, { name: "MAE", values: mae.mean }] })
 * await fs.writeFile("attention-distance.png", await svgToPng(svg))
 */
import sharp from "sharp"
import { InvalidAnalysisOption } from "./errors.ts"

export interface LineSeries {
  readonly name: string
  /** y per x; x = `firstX`, `firstX + 1`, ... (layer numbers). */
  readonly values: ReadonlyArray<number>
}

export interface LineChart {
  readonly series: ReadonlyArray<LineSeries>
  readonly title?: string
  readonly xLabel?: string
  readonly yLabel?: string
  /** x of each series' first value (default 1: layers counted from 1, as in the paper). */
  readonly firstX?: number
  readonly width?: number
  readonly height?: number
}

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** Fixed-precision numbers, so the output does not depend on float printing details. */
const n2 = (x: number): string => (Math.round(x * 100) / 100).toFixed(2).replace(/\.?0+$/, "") || "0"

/** 0 .. a "nice" top (1, 2, 2.5 or 5 x 10^k steps), about five ticks. */
const niceTicks = (max: number): ReadonlyArray<number> => {
  const top = max > 0 ? max : 1
  const raw = top / 5
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag
  const count = Math.ceil(top / step - 1e-9)
  return Array.from({ length: count + 1 }, (_, i) => Math.round(i * step * 1e9) / 1e9)
}

/** Why the chart cannot be drawn, or `undefined`. */
export const checkLineChart = (c: LineChart): InvalidAnalysisOption | undefined => {
  const op = "lineChartSvg"
  if (c.series.length === 0) return new InvalidAnalysisOption({ op, field: "series", value: 0, expected: "at least one series" })
  for (const s of c.series) {
    if (s.values.length === 0) return new InvalidAnalysisOption({ op, field: `series "${s.name}"`, value: "no values", expected: "at least one value" })
    const bad = s.values.find((v) => !Number.isFinite(v))
    if (bad !== undefined) return new InvalidAnalysisOption({ op, field: `series "${s.name}"`, value: String(bad), expected: "finite values" })
  }
  return undefined
}

/** The chart as an SVG document. Throws {@link InvalidAnalysisOption}. */
export const lineChartSvg = (c: LineChart): string => {
  const bad = checkLineChart(c)
  if (bad !== undefined) throw bad
  const [w, h] = [c.width ?? 640, c.height ?? 400]
  const m = { left: 64, right: 16, top: c.title === undefined ? 16 : 40, bottom: 48 }
  const firstX = c.firstX ?? 1
  const count = Math.max(...c.series.map((s) => s.values.length))
  const yTicks = niceTicks(Math.max(...c.series.flatMap((s) => s.values)))
  const yTop = yTicks[yTicks.length - 1] ?? 1
  const px = (i: number) => m.left + (count === 1 ? 0.5 : i / (count - 1)) * (w - m.left - m.right)
  const py = (y: number) => h - m.bottom - (y / yTop) * (h - m.top - m.bottom)
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
  ]
  if (c.title !== undefined) out.push(`<text x="${n2(w / 2)}" y="24" text-anchor="middle" font-size="15">${escapeXml(c.title)}</text>`)
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" y1="${n2(py(t))}" x2="${w - m.right}" y2="${n2(py(t))}" stroke="#e0e0e0"/>`)
    out.push(`<text x="${m.left - 6}" y="${n2(py(t) + 4)}" text-anchor="end">${n2(t)}</text>`)
  }
  for (let i = 0; i < count; i++) {
    out.push(`<text x="${n2(px(i))}" y="${h - m.bottom + 16}" text-anchor="middle">${firstX + i}</text>`)
  }
  out.push(`<line x1="${m.left}" y1="${h - m.bottom}" x2="${w - m.right}" y2="${h - m.bottom}" stroke="#000000"/>`)
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${h - m.bottom}" stroke="#000000"/>`)
  out.push(`<text x="${n2((m.left + w - m.right) / 2)}" y="${h - 10}" text-anchor="middle">${escapeXml(c.xLabel ?? "layer")}</text>`)
  const yMid = n2((m.top + h - m.bottom) / 2)
  out.push(`<text x="16" y="${yMid}" text-anchor="middle" transform="rotate(-90 16 ${yMid})">${escapeXml(c.yLabel ?? "mean attention distance (px)")}</text>`)
  c.series.forEach((s, k) => {
    const color = palette[k % palette.length] ?? "#000000"
    const pts = s.values.map((v, i) => `${n2(px(i))},${n2(py(v))}`)
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`)
    for (const p of pts) {
      const [x, y] = p.split(",")
      out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${color}"/>`)
    }
    const ly = m.top + 8 + k * 18
    out.push(`<line x1="${m.left + 12}" y1="${ly}" x2="${m.left + 36}" y2="${ly}" stroke="${color}" stroke-width="2"/>`)
    out.push(`<text x="${m.left + 42}" y="${ly + 4}">${escapeXml(s.name)}</text>`)
  })
  out.push("</svg>")
  return out.join("\n") + "\n"
}

/** Renders an SVG document to PNG bytes with sharp (librsvg); `density` 72 keeps the SVG's pixel size. */
export const svgToPng = (svg: string, density = 72): Promise<Buffer> => sharp(Buffer.from(svg), { density }).png().toBuffer()
