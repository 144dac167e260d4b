/**
 * The ts-morph side of fingerprinting: parse files (once per content), find
 * the top-level statement declaring a stage, hash its closure.
 */
import { readFileSync } from "node:fs"
import { Project, SyntaxKind } from "ts-morph"
import type { SourceLocation } from "../../../dsl/Stage.ts"
import { sha256 } from "../../cache/hash.ts"
import { computeClosure, type ParsedModule } from "./closure.ts"
import { indexModule } from "./moduleIndex.ts"

export interface Computed {
  readonly fingerprint: string
  readonly files: ReadonlyMap<string, string>
  readonly parts: number
  /** External packages reached, as `pkg:name@version`. */
  readonly packages: ReadonlyArray<string>
  readonly declarations: ReadonlyMap<string, string>
}

export interface Computer {
  readonly compute: (loc: SourceLocation) => Computed
}

export const makeComputer = (): Computer => {
  const project = new Project({
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: true },
  })
  const modules = new Map<string, ParsedModule>()
  const load = (file: string): ParsedModule => {
    const text = readFileSync(file, "utf8")
    const digest = sha256(text)
    const known = modules.get(file)
    if (known !== undefined && known.sha256 === digest) return known
    const sf = project.createSourceFile(file, text, { overwrite: true })
    const m: ParsedModule = { sf, index: indexModule(sf), sha256: digest }
    modules.set(file, m)
    return m
  }
  return {
    compute: (loc) => {
      const m = load(loc.file)
      const pos = m.sf.compilerNode.getPositionOfLineAndCharacter(loc.line - 1, loc.column - 1)
      let node = m.sf.getDescendantAtPos(pos)
      while (node !== undefined && node.getParent()?.getKind() !== SyntaxKind.SourceFile) node = node.getParent()
      if (node === undefined) throw new Error(`no top-level statement at ${loc.file}:${loc.line}:${loc.column}`)
      const closure = computeClosure({ file: loc.file, statement: node }, load)
      return {
        fingerprint: sha256(closure.parts.join("\n\u0000\n")),
        files: closure.files,
        parts: closure.parts.length,
        packages: closure.parts.filter((p) => p.startsWith("pkg:")),
        declarations: closure.declarations,
      }
    },
  }
}
