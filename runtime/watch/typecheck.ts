/**
 * Incremental type checking of a pipeline file and everything it imports,
 * with the TypeScript bundled in ts-morph. The previous program is reused, so
 * after the first check only edited files are re-checked.
 */
import * as path from "node:path"
import { ts } from "ts-morph"

export interface TypeChecker {
  /** Formatted diagnostics (empty when the program type-checks). */
  readonly check: () => ReadonlyArray<string>
}

const DEFAULTS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowImportingTsExtensions: true,
  noEmit: true,
  skipLibCheck: true,
}

export const makeTypeChecker = (entry: string): TypeChecker => {
  const abs = path.resolve(entry)
  const configFile = ts.findConfigFile(path.dirname(abs), ts.sys.fileExists, "tsconfig.json")
  let options = DEFAULTS
  if (configFile !== undefined) {
    const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })
    if (parsed !== undefined) options = { ...parsed.options, noEmit: true }
  }
  let previous: ts.Program | undefined
  const host = ts.createCompilerHost(options)
  return {
    check: () => {
      const program = ts.createProgram({ rootNames: [abs], options, host, ...(previous === undefined ? {} : { oldProgram: previous }) })
      previous = program
      const diagnostics = ts.getPreEmitDiagnostics(program)
      return diagnostics.map((d) => {
        const text = ts.flattenDiagnosticMessageText(d.messageText, "\n")
        if (d.file === undefined || d.start === undefined) return text
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
        return `${path.relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1}: ${text}`
      })
    },
  }
}
