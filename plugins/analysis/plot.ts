/**
 * Charts of the paper's figures: Figure 1 (mean attention distance per
 * layer, one line per teacher: `lineChartSvg`) and Figure 3 (top-1 per
 * downstream dataset, one bar per model: `barChartSvg`). Standalone SVG
 * strings (no dependency, deterministic: same input, same bytes), and PNGs
 * rendered from them by `sharp`.
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
  /** `dashed` (no markers) for references such as uniform attention or a random-init model; default `solid` with markers. */
  readonly style?: "solid" | "dashed"
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

/**
 * Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green,
 * orange, reddish purple, sky blue, black, yellow): distinguishable under
 * the common colour-vision deficiencies; yellow, faint on white, comes last.
 */
export const palette = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"] as const

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

/**
 * The chart as an SVG document. The legend sits below the plot area (one
 * row per series), so it never covers a curve: `height` is the plot's part
 * and the SVG is taller by the legend. Throws {@link InvalidAnalysisOption}.
 */
export const lineChartSvg = (c: LineChart): string => {
  const bad = checkLineChart(c)
  if (bad !== undefined) throw bad
  const [w, h] = [c.width ?? 640, c.height ?? 400]
  const legendTop = h + 4
  const fullH = legendTop + 18 * c.series.length + 4
  const m = { left: 64, right: 16, top: c.title === undefined ? 16 : 40, bottom: 48 }
  const firstX = c.firstX ?? 1
  const count = Math.max(...c.series.map((s) => s.values.length))
  const yTicks = niceTicks(Math.max(...c.series.flatMap((s) => s.values)))
  const yTop = yTicks[yTicks.length - 1] ?? 1
  const px = (i: number) => m.left + (count === 1 ? 0.5 : i / (count - 1)) * (w - m.left - m.right)
  const py = (y: number) => h - m.bottom - (y / yTop) * (h - m.top - m.bottom)
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${fullH}" viewBox="0 0 ${w} ${fullH}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${w}" height="${fullH}" fill="#ffffff"/>`,
  ]
  if (c.title !== undefined) out.push(`<text x="${n2(w / 2)}" y="24" text-anchor="middle" font-size="15">${escapeXml(c.title)}</text>`)
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" y1="${n2(py(t))}" x2="${w - m.right}" y2="${n2(py(t))}" stroke="#e0e0e0"/>`)
    out.push(`<text x="${m.left - 6}" y="${n2(py(t) + 4)}" text-anchor="end">${n2(t)}</text>`)
  }
  // At most about 12 x labels: every k-th (all of them up to 12 points, e.g. layers).
  const every = Math.max(1, Math.ceil(count / 12))
  for (let i = 0; i < count; i += every) {
    out.push(`<text x="${n2(px(i))}" y="${h - m.bottom + 16}" text-anchor="middle">${firstX + i}</text>`)
  }
  out.push(`<line x1="${m.left}" y1="${h - m.bottom}" x2="${w - m.right}" y2="${h - m.bottom}" stroke="#000000"/>`)
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${h - m.bottom}" stroke="#000000"/>`)
  out.push(`<text x="${n2((m.left + w - m.right) / 2)}" y="${h - 10}" text-anchor="middle">${escapeXml(c.xLabel ?? "layer")}</text>`)
  const yMid = n2((m.top + h - m.bottom) / 2)
  out.push(`<text x="16" y="${yMid}" text-anchor="middle" transform="rotate(-90 16 ${yMid})">${escapeXml(c.yLabel ?? "mean attention distance (px)")}</text>`)
  c.series.forEach((s, k) => {
    const color = palette[k % palette.length] ?? "#000000"
    const dashed = s.style === "dashed"
    const dash = dashed ? ' stroke-dasharray="6 4"' : ""
    const pts = s.values.map((v, i) => `${n2(px(i))},${n2(py(v))}`)
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(" ")}"/>`)
    if (!dashed) {
      for (const p of pts) {
        const [x, y] = p.split(",")
        out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${color}"/>`)
      }
    }
    const ly = legendTop + 10 + k * 18
    out.push(`<line x1="${m.left}" y1="${ly}" x2="${m.left + 28}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`)
    out.push(`<text x="${m.left + 34}" y="${ly + 4}">${escapeXml(s.name)}</text>`)
  })
  out.push("</svg>")
  return out.join("\n") + "\n"
}

export interface BarSeries {
  readonly name: string
  /** One value per group, in `groups` order; `undefined` (or a shorter array): no bar, "n/a" is written instead. */
  readonly values: ReadonlyArray<number | undefined>
}

/**
 * Grouped bars: one group per category on the x axis (e.g. a downstream
 * dataset), one bar per series within each group (e.g. a model), every bar
 * labelled with its value.
 */
export interface BarChart {
  /** Group labels; `\n` splits a label over lines (e.g. dataset, then protocol). */
  readonly groups: ReadonlyArray<string>
  readonly series: ReadonlyArray<BarSeries>
  readonly title?: string
  readonly xLabel?: string
  readonly yLabel?: string
  /** Top of the y axis (default: a nice value above the largest bar). */
  readonly yMax?: number
  /** Digits after the point of the bar labels (default 1). */
  readonly digits?: number
  /** Default: wide enough for about 30 px per bar, at least 480. */
  readonly width?: number
  readonly height?: number
}

/** Why the bar chart cannot be drawn, or `undefined`. */
export const checkBarChart = (c: BarChart): InvalidAnalysisOption | undefined => {
  const op = "barChartSvg"
  if (c.groups.length === 0) return new InvalidAnalysisOption({ op, field: "groups", value: 0, expected: "at least one group" })
  if (c.series.length === 0) return new InvalidAnalysisOption({ op, field: "series", value: 0, expected: "at least one series" })
  for (const s of c.series) {
    if (s.values.length > c.groups.length) {
      return new InvalidAnalysisOption({ op, field: `series "${s.name}"`, value: `${s.values.length} values`, expected: `at most one value per group (${c.groups.length})` })
    }
    const bad = s.values.find((v) => v !== undefined && !(Number.isFinite(v) && v >= 0))
    if (bad !== undefined) return new InvalidAnalysisOption({ op, field: `series "${s.name}"`, value: String(bad), expected: "finite values >= 0" })
  }
  if (c.yMax !== undefined && !(Number.isFinite(c.yMax) && c.yMax > 0)) return new InvalidAnalysisOption({ op, field: "yMax", value: c.yMax, expected: "a finite value > 0" })
  return undefined
}

/** The grouped bar chart as an SVG document (deterministic). Throws {@link InvalidAnalysisOption}. */
export const barChartSvg = (c: BarChart): string => {
  const bad = checkBarChart(c)
  if (bad !== undefined) throw bad
  const digits = c.digits ?? 1
  const lines = c.groups.map((g) => g.split("\n"))
  const labelLines = Math.max(...lines.map((l) => l.length))
  const legendWidth = 40 + 7 * Math.max(...c.series.map((s) => s.name.length))
  const m = { left: 64, right: 16 + legendWidth, top: c.title === undefined ? 24 : 48, bottom: 36 + 14 * labelLines }
  const w = c.width ?? Math.max(480, m.left + m.right + c.groups.length * (c.series.length * 30 + 24))
  const h = c.height ?? 400
  const values = c.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined))
  const yMax = c.yMax
  const yTicks = yMax === undefined ? niceTicks(Math.max(0, ...values)) : niceTicks(yMax).filter((t) => t <= yMax + 1e-9)
  const yTop = yMax ?? yTicks[yTicks.length - 1] ?? 1
  const plotW = w - m.left - m.right
  const slot = plotW / c.groups.length
  const barW = (slot * 0.8) / c.series.length
  const bx = (g: number, k: number) => m.left + g * slot + slot * 0.1 + k * barW
  const py = (y: number) => h - m.bottom - (Math.min(y, yTop) / yTop) * (h - m.top - m.bottom)
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n2(w)}" height="${h}" viewBox="0 0 ${n2(w)} ${h}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${n2(w)}" height="${h}" fill="#ffffff"/>`,
  ]
  if (c.title !== undefined) out.push(`<text x="${n2(w / 2)}" y="24" text-anchor="middle" font-size="15">${escapeXml(c.title)}</text>`)
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" y1="${n2(py(t))}" x2="${n2(w - m.right)}" y2="${n2(py(t))}" stroke="#e0e0e0"/>`)
    out.push(`<text x="${m.left - 6}" y="${n2(py(t) + 4)}" text-anchor="end">${n2(t)}</text>`)
  }
  c.series.forEach((s, k) => {
    const color = palette[k % palette.length] ?? "#000000"
    c.groups.forEach((_, g) => {
      const v = s.values[g]
      const x = bx(g, k)
      const cx = n2(x + barW / 2)
      if (v === undefined) {
        out.push(`<text x="${cx}" y="${n2(py(0) - 4)}" text-anchor="middle" font-size="9" fill="#7f7f7f">n/a</text>`)
        return
      }
      out.push(`<rect x="${n2(x)}" y="${n2(py(v))}" width="${n2(Math.max(1, barW - 2))}" height="${n2(py(0) - py(v))}" fill="${color}"/>`)
      const label = v.toFixed(digits)
      const ly = n2(py(v) - 4)
      // Labels wider than the bar are written upwards.
      out.push(
        barW >= 6.5 * label.length + 4
          ? `<text x="${cx}" y="${ly}" text-anchor="middle" font-size="10">${label}</text>`
          : `<text x="${cx}" y="${ly}" text-anchor="start" font-size="10" transform="rotate(-90 ${cx} ${ly})">${label}</text>`,
      )
    })
  })
  lines.forEach((l, g) => {
    const cx = n2(m.left + g * slot + slot / 2)
    const spans = l.map((t, i) => `<tspan x="${cx}" dy="${i === 0 ? 0 : 14}">${escapeXml(t)}</tspan>`).join("")
    out.push(`<text x="${cx}" y="${h - m.bottom + 16}" text-anchor="middle">${spans}</text>`)
  })
  out.push(`<line x1="${m.left}" y1="${h - m.bottom}" x2="${n2(w - m.right)}" y2="${h - m.bottom}" stroke="#000000"/>`)
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${h - m.bottom}" stroke="#000000"/>`)
  if (c.xLabel !== undefined) out.push(`<text x="${n2((m.left + w - m.right) / 2)}" y="${h - 8}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`)
  const yMid = n2((m.top + h - m.bottom) / 2)
  out.push(`<text x="16" y="${yMid}" text-anchor="middle" transform="rotate(-90 16 ${yMid})">${escapeXml(c.yLabel ?? "value")}</text>`)
  c.series.forEach((s, k) => {
    const color = palette[k % palette.length] ?? "#000000"
    const lx = n2(w - legendWidth)
    const ly = m.top + k * 18
    out.push(`<rect x="${lx}" y="${ly}" width="14" height="12" fill="${color}"/>`)
    out.push(`<text x="${n2(w - legendWidth + 20)}" y="${ly + 10}">${escapeXml(s.name)}</text>`)
  })
  out.push("</svg>")
  return out.join("\n") + "\n"
}

/** Renders an SVG document to PNG bytes with sharp (librsvg); `density` 72 keeps the SVG's pixel size. */
export const svgToPng = (svg: string, density = 72): Promise<Buffer> => sharp(Buffer.from(svg), { density }).png().toBuffer()
