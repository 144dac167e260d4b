/**
 * The report document as ONE self-contained HTML file: inline CSS, the
 * figures' SVGs inlined, no scripts, no external resources; the only links
 * are anchors to the sections.
 */
import type { Block, Cell, ReportDocument, Table } from "./document.ts"
import { escapeHtml as e } from "./format.ts"

const css = `
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.chosen { background: #fff3c4; }
.not-run { border-left: 4px solid #D55E00; background: #fbeee6; padding: 0.5em 1em; }
.warning { border-left: 4px solid #E69F00; background: #fdf3e1; padding: 0.5em 1em; }
.table-wrap { overflow-x: auto; }
th, td { overflow-wrap: normal; word-break: normal; hyphens: none; vertical-align: top; }
td { white-space: nowrap; }
td.prose { white-space: normal; min-width: 14em; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.95em; background: #f3f3f3; padding: 0 0.2em; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
`.trim()

const cell = (c: Cell, numeric: boolean, prose: boolean): string => {
  const cls = [numeric ? "num" : "", prose ? "prose" : "", typeof c === "string" ? "" : "chosen"].filter((x) => x !== "").join(" ")
  const attr = cls === "" ? "" : ` class="${cls}"`
  return typeof c === "string" ? `<td${attr}>${e(c)}</td>` : `<td${attr}><strong>${e(c.text)}</strong> ${e(c.note)}</td>`
}

/** Escaped text with `code` spans set as <code> (no literal backticks in the page). */
const inline = (s: string): string => e(s).replace(/`([^`]+)`/g, "<code>$1</code>").replace(/`/g, "")

const table = (t: Table): string =>
  [
    '<div class="table-wrap">',
    "<table>",
    `<caption>${e(t.caption)}</caption>`,
    `<thead><tr>${t.header.map((h) => `<th>${e(h)}</th>`).join("")}</tr></thead>`,
    "<tbody>",
    ...t.rows.map((r) => `<tr>${r.map((c, i) => cell(c, t.numeric[i] ?? false, t.prose?.[i] ?? false)).join("")}</tr>`),
    "</tbody>",
    "</table>",
    "</div>",
  ].join("\n")

const block = (b: Block): string => {
  switch (b._tag) {
    case "Paragraph":
      return `<p>${inline(b.text)}</p>`
    case "NotRun":
      return `<p class="not-run"><strong>Not run:</strong> ${inline(b.text)}</p>`
    case "Warning":
      return `<p class="warning"><strong>Warning:</strong> ${inline(b.text)}</p>`
    case "Table":
      return table(b.table)
    case "Figure":
      return `<figure>\n${b.svg.trim()}\n<figcaption>${e(b.caption)} (Also ${e(b.svgFile)} and ${e(b.png)} beside this file.)</figcaption>\n</figure>`
  }
}

/** The document as an HTML page. */
export const renderHtml = (d: ReportDocument): string =>
  [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<title>${e(d.title)}</title>`,
    `<style>\n${css}\n</style>`,
    "</head>",
    "<body>",
    `<h1>${e(d.title)}</h1>`,
    `<nav>${d.sections.map((s) => `<a href="#${e(s.id)}">${e(s.heading)}</a>`).join(" ")}</nav>`,
    ...d.intro.map(block),
    ...d.sections.flatMap((s) => [`<section id="${e(s.id)}">`, `<h2>${e(s.heading)}</h2>`, ...s.blocks.map(block), "</section>"]),
    "</body>",
    "</html>",
  ].join("\n") + "\n"
