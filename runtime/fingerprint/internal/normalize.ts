/**
 * Normalized text of a syntax node: its tokens joined by single spaces, so
 * comments (JSDoc included) and formatting do not change a fingerprint, but
 * every token, string and template literal does.
 */
import { ts } from "ts-morph"

const isJsDoc = (n: ts.Node) => n.kind >= ts.SyntaxKind.FirstJSDocNode && n.kind <= ts.SyntaxKind.LastJSDocNode

export const normalizedTokens = (node: ts.Node, sf: ts.SourceFile): string => {
  const out: Array<string> = []
  const walk = (n: ts.Node) => {
    if (isJsDoc(n)) return
    const children = n.getChildren(sf)
    if (children.length === 0) {
      const text = n.getText(sf)
      if (text.length > 0) out.push(text)
      return
    }
    for (const c of children) walk(c)
  }
  walk(node)
  return out.join(" ")
}
