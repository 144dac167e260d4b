/**
 * Type checking of a pipeline file and everything it imports, with ts-morph
 * (its bundled TypeScript and lib files). The project is kept between checks;
 * edited files are refreshed from disk before each check.
 */
import * as path from "node:path"
import { Project, ts } from "ts-morph"

export interface TypeChecker {
  /** Formatted diagnostics (empty when the program type-checks). */
  readonly check: () => ReadonlyArray<string>
  /** Absolute paths of the project files the entry imports, transitively (itself included). */
  readonly files: () => ReadonlySet<string>
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
  const project =
    configFile === undefined
      ? new Project({ compilerOptions: DEFAULTS })
      : new Project({ tsConfigFilePath: configFile, skipAddingFilesFromTsConfig: true, compilerOptions: { noEmit: true } })
  const refresh = () => {
    for (const sf of project.getSourceFiles()) {
      if (!sf.getFilePath().includes("/node_modules/")) sf.refreshFromFileSystemSync()
    }
    if (project.getSourceFile(abs) === undefined) project.addSourceFileAtPath(abs)
    project.resolveSourceFileDependencies()
  }
  return {
    files: () => {
      refresh()
      return new Set(project.getSourceFiles().map((sf) => path.resolve(sf.getFilePath())).filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`)))
    },
    check: () => {
      refresh()
      const diagnostics = project.getPreEmitDiagnostics()
      return diagnostics.map((d) => {
        const text = ts.flattenDiagnosticMessageText(d.compilerObject.messageText, "\n")
        const file = d.getSourceFile()
        const start = d.getStart()
        if (file === undefined || start === undefined) return text
        const { line, column } = file.getLineAndColumnAtPos(start)
        return `${path.relative(process.cwd(), file.getFilePath())}:${line}:${column}: ${text}`
      })
    },
  }
}
