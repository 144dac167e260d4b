/**
 * Type checking of a pipeline file and everything it imports, with the
 * TypeScript compiler API and the project's own `tsconfig.json` (found from
 * the pipeline file's folder upward), so `watch` reports what `tsc -p
 * tsconfig.json` reports for those files: same options, same module format
 * per file (ESM under `"type": "module"`, hence `import.meta` is allowed).
 *
 * The compiler is the project's `typescript` package when installed (the one
 * `npm test` runs), else the copy bundled with ts-morph. Between checks, the
 * parsed source files of unchanged files (same mtime and size) are reused and
 * the previous program is passed as `oldProgram`, so a re-check after one
 * edit costs a fraction of the first.
 */
import { statSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { ts as bundledTs } from "ts-morph"

type TS = typeof bundledTs

export interface TypeChecker {
  /** Formatted diagnostics (empty when the program type-checks). */
  readonly check: () => ReadonlyArray<string>
  /** Absolute paths of the project files the entry imports, transitively (itself included). */
  readonly files: () => ReadonlySet<string>
}

const loadTypeScript = (): TS => {
  try {
    return createRequire(import.meta.url)("typescript") as TS
  } catch {
    return bundledTs
  }
}

/** Options when no tsconfig.json is found above the pipeline file. */
const defaults = (ts: TS): bundledTs.CompilerOptions => ({
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowImportingTsExtensions: true,
  noEmit: true,
  skipLibCheck: true,
})

/** The compiler options of the tsconfig.json governing `entry` (its `include` is ignored: the entry is the root). */
export const compilerOptionsFor = (entry: string, ts: TS = loadTypeScript()): { readonly options: bundledTs.CompilerOptions; readonly configFile: string | undefined; readonly problems: ReadonlyArray<string> } => {
  const configFile = ts.findConfigFile(path.dirname(path.resolve(entry)), ts.sys.fileExists, "tsconfig.json")
  if (configFile === undefined) return { options: defaults(ts), configFile, problems: [] }
  const problems: Array<string> = []
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, { noEmit: true }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => problems.push(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
  })
  if (parsed === undefined) return { options: defaults(ts), configFile, problems }
  // "No inputs were found" and the like concern `include`, which a watch root does not use.
  for (const d of parsed.errors) if (d.code !== 18003) problems.push(`${configFile}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`)
  return { options: { ...parsed.options, noEmit: true }, configFile, problems }
}

export const makeTypeChecker = (entry: string): TypeChecker => {
  const ts = loadTypeScript()
  const abs = path.resolve(entry)
  const { options, problems } = compilerOptionsFor(abs, ts)
  const host = ts.createCompilerHost(options, true)
  const parsed = new Map<string, { readonly stamp: string; readonly sf: bundledTs.SourceFile }>()
  const stampOf = (file: string): string => {
    try {
      const s = statSync(file)
      return `${s.mtimeMs}:${s.size}`
    } catch {
      return "missing"
    }
  }
  const baseGetSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
    const format = typeof languageVersionOrOptions === "object" ? `${languageVersionOrOptions.impliedNodeFormat ?? ""}` : ""
    const id = `${fileName}\0${format}`
    const stamp = stampOf(fileName)
    const hit = parsed.get(id)
    if (hit !== undefined && hit.stamp === stamp) return hit.sf
    const sf = baseGetSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate)
    if (sf !== undefined) parsed.set(id, { stamp, sf })
    return sf
  }
  let program: bundledTs.Program | undefined
  let diagnostics: ReadonlyArray<string> | undefined
  // Unchanged since the last build: every file read then has the same stamp.
  const unchanged = () => program !== undefined && [...parsed.entries()].every(([id, v]) => stampOf(id.slice(0, id.indexOf("\0"))) === v.stamp)
  const build = (): bundledTs.Program => {
    if (program !== undefined && unchanged()) return program
    diagnostics = undefined
    program = ts.createProgram({ rootNames: [abs], options, host, ...(program === undefined ? {} : { oldProgram: program }) })
    return program
  }
  const local = (f: string) => !f.includes(`${path.sep}node_modules${path.sep}`) && !f.includes("/node_modules/")
  const format = (d: bundledTs.Diagnostic): string => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n")
    if (d.file === undefined || d.start === undefined) return text
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
    return `${path.relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1}: ${text}`
  }
  return {
    files: () => new Set(build().getSourceFiles().map((sf) => path.resolve(sf.fileName)).filter(local)),
    check: () => {
      const p = build()
      if (diagnostics === undefined) {
        const all = [...p.getConfigFileParsingDiagnostics(), ...p.getOptionsDiagnostics(), ...p.getSyntacticDiagnostics(), ...p.getGlobalDiagnostics(), ...p.getSemanticDiagnostics()]
        diagnostics = [...problems, ...all.map(format)]
      }
      return diagnostics
    },
  }
}
