/**
 * The transitive closure of a stage's code: starting from the top-level
 * statement that declares the stage, follow every identifier to the
 * project-local declaration it names (same file, or through relative imports
 * and re-exports, across files), and record external packages by name and
 * version. Each file reached also contributes its side-effect statements
 * (e.g. registry registrations), since they run when the module loads.
 *
 * Resolution is by name at module scope, without the type checker: a local
 * that shadows a top-level name makes the closure larger, never smaller.
 */
import { createHash } from "node:crypto"
import { existsSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { type Node, type Project, type SourceFile, ts } from "ts-morph"
import { indexModule, type ModuleIndex } from "./moduleIndex.ts"
import { normalizedTokens } from "./normalize.ts"

/** The name(s) a top-level statement declares, else its kind and line. */
const declarationName = (stmt: Node): string => {
  const n = stmt.compilerNode
  if (ts.isVariableStatement(n)) return n.declarationList.declarations.map((d) => (ts.isIdentifier(d.name) ? d.name.text : "{...}")).join(",")
  if ((ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n) || ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n) || ts.isEnumDeclaration(n)) && n.name !== undefined) return n.name.text
  return `${ts.SyntaxKind[n.kind]}@${stmt.getStartLineNumber()}`
}

export interface ParsedModule {
  readonly sf: SourceFile
  readonly index: ModuleIndex
  readonly sha256: string
}

export interface ClosureResult {
  /** Sorted, de-duplicated normalized declarations and `pkg:` entries. */
  readonly parts: ReadonlyArray<string>
  /** Files read, with the content hash each had. */
  readonly files: ReadonlyMap<string, string>
  /** `file#name` of each declaration hashed -> sha256 of its normalized text (to name what changed). */
  readonly declarations: ReadonlyMap<string, string>
}

const MODULE_SUFFIXES = ["", ".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", "/index.ts", "/index.js"]

/** Resolve a relative specifier to a file, as TypeScript's NodeNext resolution of `.js`/`.ts` would. */
export const resolveRelative = (fromFile: string, spec: string): string | undefined => {
  const base = path.resolve(path.dirname(fromFile), spec)
  const stems = [base]
  const m = /\.(m|c)?js$/.exec(base)
  if (m) stems.push(base.slice(0, -m[0].length) + `.${m[1] ?? ""}ts`)
  for (const stem of stems) {
    for (const suffix of MODULE_SUFFIXES) {
      const candidate = stem + suffix
      try {
        if (statSync(candidate).isFile()) return candidate
      } catch {
        // absent: try the next suffix
      }
    }
  }
  return undefined
}

const packageName = (spec: string): string => {
  const parts = spec.split("/")
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
}

const versionCache = new Map<string, string>()
/** `name@version` of an installed package as seen from `fromFile`, or `name@?`. */
const packageVersion = (fromFile: string, name: string): string => {
  let dir = path.dirname(fromFile)
  while (true) {
    const key = `${dir}\u0000${name}`
    const cached = versionCache.get(key)
    if (cached !== undefined) return cached
    const pj = path.join(dir, "node_modules", name, "package.json")
    if (existsSync(pj)) {
      let v = "?"
      try {
        v = String((JSON.parse(readFileSync(pj, "utf8")) as { version?: unknown }).version ?? "?")
      } catch {
        // unreadable package.json: version unknown
      }
      versionCache.set(key, v)
      return v
    }
    const parent = path.dirname(dir)
    if (parent === dir) return "?"
    dir = parent
  }
}

/** Identifier positions that name a member, not a binding in scope. */
const isMemberName = (id: ts.Identifier): boolean => {
  const p = id.parent
  if (p === undefined) return false
  if (ts.isPropertyAccessExpression(p) && p.name === id) return true
  if (ts.isQualifiedName(p) && p.right === id) return true
  if (
    (ts.isPropertyAssignment(p) ||
      ts.isPropertySignature(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isMethodSignature(p) ||
      ts.isGetAccessorDeclaration(p) ||
      ts.isSetAccessorDeclaration(p) ||
      ts.isEnumMember(p)) &&
    p.name === id
  ) {
    return true
  }
  if (ts.isBindingElement(p) && p.propertyName === id) return true
  return false
}

export const computeClosure = (root: { file: string; statement: Node }, load: (file: string) => ParsedModule): ClosureResult => {
  const parts = new Set<string>()
  const files = new Map<string, string>()
  const declarations = new Map<string, string>()
  const seenNames = new Set<string>()
  const seenStatements = new Set<Node>()
  const seenFiles = new Set<string>()

  const parsed = (file: string): ParsedModule => {
    const m = load(file)
    files.set(file, m.sha256)
    return m
  }

  const addExternal = (fromFile: string, spec: string) => {
    if (spec.startsWith("node:")) return
    const name = packageName(spec)
    parts.add(`pkg:${name}@${packageVersion(fromFile, name)}`)
  }

  const visitStatement = (file: string, stmt: Node) => {
    if (seenStatements.has(stmt)) return
    seenStatements.add(stmt)
    const m = parsed(file)
    const part = `${ts.SyntaxKind[stmt.getKind()]}:${normalizedTokens(stmt.compilerNode, m.sf.compilerNode)}`
    parts.add(part)
    const label = `${file}#${declarationName(stmt)}`
    declarations.set(label, createHash("sha256").update(`${declarations.get(label) ?? ""}${part}`).digest("hex"))
    const walk = (n: ts.Node) => {
      if (ts.isIdentifier(n) && !isMemberName(n)) {
        const parent = n.parent
        const binding = m.index.imports.get(n.text)
        if (binding?.imported === "*" && parent !== undefined && ts.isPropertyAccessExpression(parent) && parent.expression === n) {
          resolveImportMember(file, binding.spec, parent.name.text)
        } else if (binding?.imported === "*" && parent !== undefined && ts.isQualifiedName(parent) && parent.left === n) {
          resolveImportMember(file, binding.spec, parent.right.text)
        } else {
          visitName(file, n.text)
        }
      }
      ts.forEachChild(n, walk)
    }
    walk(stmt.compilerNode)
  }

  const visitFile = (file: string) => {
    if (seenFiles.has(file)) return
    seenFiles.add(file)
    const m = parsed(file)
    for (const s of m.index.sideEffects) visitStatement(file, s)
    for (const spec of m.index.sideEffectImports) {
      if (spec.startsWith(".")) {
        const target = resolveRelative(file, spec)
        if (target !== undefined) visitFile(target)
      } else addExternal(file, spec)
    }
  }

  const visitName = (file: string, name: string) => {
    const k = `${file}\u0000${name}`
    if (seenNames.has(k)) return
    seenNames.add(k)
    const m = parsed(file)
    visitFile(file)
    const decls = m.index.locals.get(name)
    if (decls !== undefined) {
      for (const d of decls) visitStatement(file, d)
      return
    }
    const binding = m.index.imports.get(name)
    if (binding === undefined) return // a global, a parameter or a local of a function
    if (binding.imported === "*") resolveWholeModule(file, binding.spec)
    else resolveImportMember(file, binding.spec, binding.imported)
  }

  const resolveWholeModule = (fromFile: string, spec: string) => {
    if (!spec.startsWith(".")) return addExternal(fromFile, spec)
    const target = resolveRelative(fromFile, spec)
    if (target === undefined) return void parts.add(`unresolved:${spec}`)
    const m = parsed(target)
    visitFile(target)
    for (const name of m.index.exports.keys()) resolveExport(target, name)
    for (const star of m.index.starExports) resolveWholeModule(target, star)
  }

  const resolveImportMember = (fromFile: string, spec: string, member: string) => {
    if (!spec.startsWith(".")) return addExternal(fromFile, spec)
    const target = resolveRelative(fromFile, spec)
    if (target === undefined) return void parts.add(`unresolved:${spec}`)
    resolveExport(target, member)
  }

  const resolveExport = (file: string, name: string): boolean => {
    const k = `${file}\u0000export:${name}`
    if (seenNames.has(k)) return true
    seenNames.add(k)
    const m = parsed(file)
    visitFile(file)
    const e = m.index.exports.get(name)
    if (e?._tag === "Local") {
      visitName(file, e.local)
      return true
    }
    if (e?._tag === "From") {
      if (e.imported === "*") resolveWholeModule(file, e.spec)
      else resolveImportMember(file, e.spec, e.imported)
      return true
    }
    for (const star of m.index.starExports) {
      if (!star.startsWith(".")) continue
      const target = resolveRelative(file, star)
      if (target === undefined) continue
      const tm = parsed(target)
      if (tm.index.exports.has(name) || tm.index.starExports.length > 0) {
        if (resolveExport(target, name)) return true
      }
    }
    return false
  }

  visitFile(root.file)
  visitStatement(root.file, root.statement)
  return { parts: [...parts].sort(), files, declarations }
}

export type { Project }
