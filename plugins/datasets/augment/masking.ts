/**
 * MAE random patch masking (He et al., 2022): per image, a uniformly random
 * subset of exactly `round(ratio * numPatches)` patches is masked (1) and the
 * rest kept (0). The kept indices are returned in ascending order, the
 * encoder's input order.
 */
import type { Rng } from "../prng.ts"

/** Number of masked patches: exactly `round(ratio * numPatches)`. */
export const maskedCount = (numPatches: number, ratio: number): number => Math.round(ratio * numPatches)

/**
 * Draws one image's mask into `mask[offset .. offset + numPatches)` and its
 * kept patch indices (ascending) into `keep[keepOffset ..]`.
 */
export const drawPatchMask = (
  rng: Rng,
  numPatches: number,
  numMasked: number,
  mask: Uint8Array,
  offset: number,
  keep: Int32Array,
  keepOffset: number,
): void => {
  // Partial Fisher-Yates: the first numMasked entries of a random permutation.
  const order = new Int32Array(numPatches)
  for (let i = 0; i < numPatches; i++) order[i] = i
  for (let i = 0; i < numMasked; i++) {
    const j = i + rng.int(numPatches - i)
    const t = order[i] as number
    order[i] = order[j] as number
    order[j] = t
  }
  mask.fill(0, offset, offset + numPatches)
  for (let i = 0; i < numMasked; i++) mask[offset + (order[i] as number)] = 1
  let k = keepOffset
  for (let p = 0; p < numPatches; p++) if (mask[offset + p] === 0) keep[k++] = p
}
