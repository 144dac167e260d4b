/**
 * Figure 1's analytic reference: the mean attention distance of uniform
 * attention on a g x g patch grid, measured as `attentionDistance` measures
 * (plugins/analysis/attentionDistance.ts): the class token is dropped as a
 * query and as a key and each query's weights are renormalized over the
 * patches, so uniform attention weighs every patch (the query's own
 * included) by 1 / g², and the distance is the mean over all ordered pairs of
 * patches of the pixel distance between their centres:
 *
 *   d_uniform = (1 / g⁴) Σ_q Σ_k patchSize · ‖pos_q - pos_k‖₂
 *
 * E.g. 4 x 4 patches of 7 px: 14.06 px; 7 x 7 patches of 4 px: 14.44 px.
 */
import { patchDistances } from "../../../analysis/attentionDistance.ts"

/** Uniform attention's mean distance (px) on a grid x grid patch grid with the given patch size. */
export const uniformAttentionDistance = (grid: number, patchSize: number): number => {
  const d = patchDistances(grid, patchSize)
  let sum = 0
  for (const x of d) sum += x
  return sum / d.length
}
