/**
 * `ssl-kd <command> --help`: every command describes its arguments and
 * options as data (a sentence and an example each), printed by
 * {@link formatHelp}; the same table feeds the parser (`options`), so an
 * option cannot exist without its help line.
 */
import type { ParseArgsConfig } from "node:util"

/** One option: how it parses, what it does, and an example invocation. */
export interface OptionDoc {
  readonly type: "string" | "boolean"
  readonly multiple?: boolean
  readonly short?: string
  /** The value's placeholder in help (`P` in `--preset P`). */
  readonly value?: string
  /** One sentence. */
  readonly text: string
  /** A full example command line. */
  readonly example: string
}

export type OptionDocs = Readonly<Record<string, OptionDoc>>

/** What `--help` prints for a command. */
export interface CommandHelp {
  readonly usage: string
  readonly summary: string
  /** Positional arguments: name -> sentence. */
  readonly args?: Readonly<Record<string, string>>
  readonly options: OptionDocs
  readonly examples?: ReadonlyArray<string>
  readonly notes?: ReadonlyArray<string>
}

/** The `node:util` parseArgs option table of documented options. */
export const parseOptions = (docs: OptionDocs): NonNullable<ParseArgsConfig["options"]> =>
  Object.fromEntries(
    Object.entries(docs).map(([name, d]) => [
      name,
      { type: d.type, ...(d.multiple === true ? { multiple: true } : {}), ...(d.short === undefined ? {} : { short: d.short }) },
    ]),
  )

const wrap = (text: string, width: number, indent: string): string => {
  const words = text.split(/\s+/)
  const lines: Array<string> = []
  let line = ""
  for (const w of words) {
    if (line.length > 0 && line.length + 1 + w.length > width) {
      lines.push(line)
      line = w
    } else line = line.length === 0 ? w : `${line} ${w}`
  }
  if (line.length > 0) lines.push(line)
  return lines.map((l, i) => (i === 0 ? l : `${indent}${l}`)).join("\n")
}

export const formatHelp = (h: CommandHelp, extra: ReadonlyArray<string> = []): string => {
  const out: Array<string> = [h.summary, "", `usage: ${h.usage}`]
  if (h.args !== undefined && Object.keys(h.args).length > 0) {
    out.push("", "arguments:")
    const w = Math.max(...Object.keys(h.args).map((a) => a.length))
    for (const [a, text] of Object.entries(h.args)) out.push(`  ${a.padEnd(w)}  ${wrap(text, 72, " ".repeat(w + 4))}`)
  }
  const entries = Object.entries(h.options)
  if (entries.length > 0) {
    out.push("", "options:")
    for (const [name, d] of entries) {
      const flag = `--${name}${d.value === undefined ? "" : ` ${d.value}`}${d.short === undefined ? "" : `, -${d.short}`}${d.multiple === true ? " (repeatable)" : ""}`
      out.push(`  ${flag}`, `      ${wrap(d.text, 74, "      ")}`, `      e.g. ${d.example}`)
    }
  }
  if (h.examples !== undefined && h.examples.length > 0) out.push("", "examples:", ...h.examples.map((e) => `  ${e}`))
  for (const n of [...(h.notes ?? []), ...extra]) out.push("", wrap(n, 78, ""))
  return out.join("\n")
}
