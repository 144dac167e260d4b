/**
 * "Did you mean" for unknown names (stages, presets, datasets, models,
 * teachers): one implementation for every registry and error message.
 */

/** Levenshtein distance. */
export const editDistance = (a: string, b: string): number => {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]!
}

/** Known names close to `name` (distance <= max(2, len/3)), best first; or containing it. */
export const suggest = (name: string, known: Iterable<string>): ReadonlyArray<string> => {
  const limit = Math.max(2, Math.floor(name.length / 3))
  const lower = name.toLowerCase()
  return [...known]
    .map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) }))
    .filter(({ k, d }) => d <= limit || (lower.length >= 3 && k.toLowerCase().includes(lower)))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, 3)
    .map(({ k }) => k)
}
