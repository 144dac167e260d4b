/**
 * How the report writes numbers (the same in HTML, Markdown and the figures'
 * tables): accuracies in percent with two decimals (`87.50`), differences in
 * percentage points with a sign (`+1.25`, `-0.50`, `+0.00`), seconds with one
 * decimal, counts with thousands separators (`13,098`), shares of a total in
 * percent with one decimal, attention distances in pixels and attention
 * confidences with two and three decimals.
 */

/** A fraction in [0, 1] as a percentage, two decimals: 0.875 -> "87.50". */
export const pct = (x: number): string => (x * 100).toFixed(2)

/** Mean and sample standard deviation over runs: "87.50 ± 0.35" (the mean alone for one run). */
export const pctStd = (mean: number, std: number | null): string => (std === null ? pct(mean) : `${pct(mean)} ± ${pct(std)}`)

/** Percentage points with a sign; rounding to zero gives "+0.00", never "-0.00". */
export const points = (d: number): string => {
  const r = Math.round(d * 100) / 100
  return r < 0 ? r.toFixed(2) : `+${Math.abs(r).toFixed(2)}`
}

export const seconds = (s: number): string => s.toFixed(1)

export const count = (n: number): string => n.toLocaleString("en-US")

/** A share in [0, 1] as a percentage, one decimal: 0.468 -> "46.8". */
export const share = (x: number): string => (x * 100).toFixed(1)

export const px = (d: number): string => d.toFixed(2)

export const confidence = (c: number): string => c.toFixed(3)

/** Distinct values in first-seen order, joined ("3,000" or "3,000 / 2,000"). */
export const distinct = (xs: ReadonlyArray<number>, f: (n: number) => string = count): string => [...new Set(xs)].map(f).join(" / ")

/** Escapes text for HTML and XML content and attribute values. */
export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/** Escapes text for a Markdown table cell or paragraph: no table breaks, no emphasis, no raw HTML. */
export const escapeMarkdown = (s: string): string =>
  s
    .replace(/\\/g, "\\\\")
    .replace(/([|*_`[\]])/g, "\\$1")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r?\n/g, " ")

/** Seeds in words: "seed 0", "seeds 0, 1, 2" (never "seeds 0"); "no seed recorded" for none. */
export const seedWords = (seeds: ReadonlyArray<number>): string =>
  seeds.length === 0 ? "no seed recorded" : `${seeds.length === 1 ? "seed" : "seeds"} ${seeds.join(", ")}`

/** A p-value: three decimals, "< 0.001" below. */
export const pValue = (p: number): string => (p < 0.001 ? "< 0.001" : p.toFixed(3))

/** A signed difference with its unit: "+1.25 pt", "-0.40 px". */
export const signedUnit = (d: number, unit: string): string => `${points(d)} ${unit}`
