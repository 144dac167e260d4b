/**
 * Graph checks over named nodes with named dependencies: topological order
 * (Kahn, stable in declaration order) and the cycles that prevent one.
 */
export interface GraphNode {
  readonly name: string
  readonly deps: ReadonlyArray<string>
}

/** Topological order (declaration order among ready nodes), or the nodes of one cycle. */
export const topoSort = (
  nodes: ReadonlyArray<GraphNode>,
): { readonly order: ReadonlyArray<string> } | { readonly cycle: ReadonlyArray<string> } => {
  const byName = new Map(nodes.map((n) => [n.name, n]))
  const indegree = new Map(nodes.map((n) => [n.name, 0]))
  const dependents = new Map<string, Array<string>>(nodes.map((n) => [n.name, []]))
  for (const n of nodes) {
    for (const d of new Set(n.deps)) {
      if (!byName.has(d)) continue
      indegree.set(n.name, indegree.get(n.name)! + 1)
      dependents.get(d)!.push(n.name)
    }
  }
  const position = new Map(nodes.map((n, i) => [n.name, i]))
  const ready = nodes.filter((n) => indegree.get(n.name) === 0).map((n) => n.name)
  const order: Array<string> = []
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!)
    const name = ready.shift()!
    order.push(name)
    for (const m of dependents.get(name)!) {
      const left = indegree.get(m)! - 1
      indegree.set(m, left)
      if (left === 0) ready.push(m)
    }
  }
  if (order.length === nodes.length) return { order }
  // Walk dependencies from a node left over until a node repeats.
  const remaining = new Set(nodes.map((n) => n.name).filter((n) => !order.includes(n)))
  let cur = [...remaining][0]!
  const path: Array<string> = []
  while (!path.includes(cur)) {
    path.push(cur)
    cur = byName.get(cur)!.deps.find((d) => remaining.has(d))!
  }
  return { cycle: [...path.slice(path.indexOf(cur)), cur] }
}
