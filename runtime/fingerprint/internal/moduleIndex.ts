/**
 * A module's top-level shape for name resolution: declarations by name,
 * imports, exports, and the statements that run for their side effects.
 * Built from a ts-morph source file without the type checker, which keeps
 * fingerprinting fast.
 */
import { type Node, type SourceFile, SyntaxKind, ts } from "ts-morph"

export interface ImportBinding {
  readonly spec: string
  /** `default`, `*` (namespace) or the exported name. */
  readonly imported: string
}

export type ExportBinding =
  | { readonly _tag: "Local"; readonly local: string }
  | { readonly _tag: "From"; readonly spec: string; readonly imported: string }

export interface ModuleIndex {
  readonly locals: ReadonlyMap<string, ReadonlyArray<Node>>
  readonly imports: ReadonlyMap<string, ImportBinding>
  readonly exports: ReadonlyMap<string, ExportBinding>
  readonly starExports: ReadonlyArray<string>
  /** Top-level statements that run on import: expression statements, `import "x"`. */
  readonly sideEffects: ReadonlyArray<Node>
  readonly sideEffectImports: ReadonlyArray<string>
}

const bindingNames = (name: ts.BindingName): Array<string> => {
  if (ts.isIdentifier(name)) return [name.text]
  return name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)))
}

const hasExportModifier = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)

const hasDefaultModifier = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)

export const indexModule = (sf: SourceFile): ModuleIndex => {
  const locals = new Map<string, Array<Node>>()
  const imports = new Map<string, ImportBinding>()
  const exports = new Map<string, ExportBinding>()
  const starExports: Array<string> = []
  const sideEffects: Array<Node> = []
  const sideEffectImports: Array<string> = []
  const addLocal = (name: string, node: Node) => locals.set(name, [...(locals.get(name) ?? []), node])

  for (const stmt of sf.getStatements()) {
    const c = stmt.compilerNode
    if (ts.isImportDeclaration(c)) {
      const spec = (c.moduleSpecifier as ts.StringLiteral).text
      const clause = c.importClause
      if (clause === undefined) {
        sideEffectImports.push(spec)
        continue
      }
      if (clause.name) imports.set(clause.name.text, { spec, imported: "default" })
      const nb = clause.namedBindings
      if (nb && ts.isNamespaceImport(nb)) imports.set(nb.name.text, { spec, imported: "*" })
      if (nb && ts.isNamedImports(nb)) {
        for (const el of nb.elements) imports.set(el.name.text, { spec, imported: (el.propertyName ?? el.name).text })
      }
      continue
    }
    if (ts.isExportDeclaration(c)) {
      const spec = c.moduleSpecifier && ts.isStringLiteral(c.moduleSpecifier) ? c.moduleSpecifier.text : undefined
      const clause = c.exportClause
      if (clause === undefined) {
        if (spec !== undefined) starExports.push(spec)
      } else if (ts.isNamespaceExport(clause)) {
        if (spec !== undefined) exports.set(clause.name.text, { _tag: "From", spec, imported: "*" })
      } else {
        for (const el of clause.elements) {
          const local = (el.propertyName ?? el.name).text
          exports.set(el.name.text, spec === undefined ? { _tag: "Local", local } : { _tag: "From", spec, imported: local })
        }
      }
      continue
    }
    if (ts.isExportAssignment(c)) {
      addLocal("default", stmt)
      exports.set("default", { _tag: "Local", local: "default" })
      continue
    }
    let declared: Array<string> = []
    if (ts.isVariableStatement(c)) declared = c.declarationList.declarations.flatMap((d) => bindingNames(d.name))
    else if (
      ts.isFunctionDeclaration(c) ||
      ts.isClassDeclaration(c) ||
      ts.isInterfaceDeclaration(c) ||
      ts.isTypeAliasDeclaration(c) ||
      ts.isEnumDeclaration(c) ||
      ts.isModuleDeclaration(c)
    ) {
      declared = c.name !== undefined && ts.isIdentifier(c.name) ? [c.name.text] : []
      if (hasDefaultModifier(c)) declared.push("default")
    } else if (ts.isImportEqualsDeclaration(c)) declared = [c.name.text]
    else if (stmt.getKind() !== SyntaxKind.EmptyStatement) {
      sideEffects.push(stmt)
      continue
    }
    for (const name of declared) {
      addLocal(name, stmt)
      if (hasExportModifier(c)) exports.set(name, { _tag: "Local", local: name })
    }
  }
  return { locals, imports, exports, starExports, sideEffects, sideEffectImports }
}
