/**
 * MAE's `patchify` / `unpatchify` (He et al. 2022, facebookresearch/mae
 * `models_mae.py`): images [N, C, H, W] <-> patches [N, L, p·p·C], patches in
 * raster order (row h, column w), each patch flattened in (p, q, c) order,
 * i.e. `einsum('nchpwq->nhwpqc')`. MAE asserts square images; here H and W
 * may differ (L = (H/p)(W/p)), and `unpatchify` takes the grid when it is not
 * square. Both run as two rank-4 transposes, which every tfjs backend has.
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvalidObjectiveConfig, ShapeMismatch } from "./errors.ts"

const checkPatchSize = (op: string, p: number): void => {
  if (!Number.isInteger(p) || p < 1) throw new InvalidObjectiveConfig({ op, field: "patchSize", value: p, expected: "an integer >= 1" })
}

/** Why images of this shape cannot be cut into p x p patches, or `undefined`. */
export const checkPatchify = (shape: ReadonlyArray<number>, patchSize: number, op = "patchify"): ShapeMismatch | undefined => {
  const [n, c, h, w] = shape
  const ok = shape.length === 4 && n !== undefined && c !== undefined && h !== undefined && w !== undefined &&
    n > 0 && c > 0 && h > 0 && w > 0 && h % patchSize === 0 && w % patchSize === 0
  return ok ? undefined : new ShapeMismatch({ op, field: "images", shape, expected: `[N, C, H, W] with H and W positive multiples of patchSize ${patchSize}` })
}

/** Images [N, C, H, W] -> patches [N, (H/p)(W/p), p·p·C]. Throws {@link ShapeMismatch}. */
export const patchify = (images: tf.Tensor, patchSize: number): tf.Tensor => {
  checkPatchSize("patchify", patchSize)
  const bad = checkPatchify(images.shape, patchSize)
  if (bad !== undefined) throw bad
  const [n = 0, c = 0, hh = 0, ww = 0] = images.shape
  const p = patchSize
  const h = hh / p
  const w = ww / p
  return tf.tidy(() => {
    // NHWC = [N, h, p, w, q, C] in memory; swap p and w per (N, h) row of patches.
    const nhwc = tf.reshape(tf.transpose(images, [0, 2, 3, 1]), [n * h, p, w, p * c])
    return tf.reshape(tf.transpose(nhwc, [0, 2, 1, 3]), [n, h * w, p * p * c])
  })
}

export interface UnpatchifyOptions {
  readonly patchSize: number
  readonly channels: number
  /** Patch grid [rows, cols]; default square, √L x √L. */
  readonly grid?: readonly [number, number]
}

/** Patches [N, L, p·p·C] -> images [N, C, rows·p, cols·p]. Throws {@link ShapeMismatch}. */
export const unpatchify = (x: tf.Tensor, o: UnpatchifyOptions): tf.Tensor => {
  const op = "unpatchify"
  checkPatchSize(op, o.patchSize)
  const p = o.patchSize
  const c = o.channels
  const [n, l, d] = x.shape
  const side = Math.round(Math.sqrt(l ?? 0))
  const [h, w] = o.grid ?? [side, side]
  if (x.rank !== 3 || n === undefined || l === undefined || d !== p * p * c || h * w !== l || n === 0) {
    throw new ShapeMismatch({
      op,
      field: "patches",
      shape: x.shape,
      expected: `[N, ${o.grid === undefined ? "L (a perfect square)" : `${h} x ${w}`}, ${p * p * c}] (patchSize ${p}, channels ${c})`,
    })
  }
  return tf.tidy(() => {
    const rows = tf.transpose(tf.reshape(x, [n * h, w, p, p * c]), [0, 2, 1, 3])
    return tf.transpose(tf.reshape(rows, [n, h * p, w * p, c]), [0, 3, 1, 2])
  })
}
