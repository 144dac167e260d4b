/**
 * The report document as Markdown: the same sections, GitHub-style tables
 * (numeric columns right-aligned), figures as links to the PNGs (and SVGs)
 * written beside it.
 */
import type { Block, Cell, ReportDocument, Table } from "./document.ts"
import { escapeMarkdown as e } from "./format.ts"

const cell = (c: Cell): string => (typeof c === "string" ? e(c) : `**${e(c.text)}** ${e(c.note)}`)

const table = (t: Table): string =>
  [
    `*${e(t.caption)}*`,
    "",
    `| ${t.header.map(e).join(" | ")} |`,
    `|${t.header.map((_, i) => (t.numeric[i] === true ? "---:" : "---")).join("|")}|`,
    ...t.rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n")

const block = (b: Block): string => {
  switch (b._tag) {
    case "Paragraph":
      return e(b.text)
    case "NotRun":
      return `> **Not run:** ${e(b.text)}`
    case "Warning":
      return `> **Warning:** ${e(b.text)}`
    case "Table":
      return table(b.table)
    case "Figure":
      return `![${e(b.caption)}](${b.png})\n\n${e(b.caption)} ([SVG](${b.svgFile}), [PNG](${b.png}))`
  }
}

/** The document as Markdown. */
export const renderMarkdown = (d: ReportDocument): string =>
  [`# ${e(d.title)}`, ...d.intro.map(block), ...d.sections.flatMap((s) => [`## ${e(s.heading)}`, ...s.blocks.map(block)])].join("\n\n") + "\n"
