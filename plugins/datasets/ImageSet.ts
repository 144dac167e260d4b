/**
 * The decoded, in-memory form of one dataset split: every reader returns one.
 * Pixels are bytes in CHW order per image (NCHW over the set), labels are
 * class indices. No tensors: the data path runs without tfjs.
 */

/** One split of a dataset, decoded. */
export interface ImageSet {
  readonly name: string
  readonly split: string
  /** `count * channels * height * width` bytes, image after image, CHW each. */
  readonly images: Uint8Array
  /** `count` class indices in `0 .. classes.length - 1`. */
  readonly labels: Int32Array
  readonly count: number
  readonly channels: number
  readonly height: number
  readonly width: number
  readonly classes: ReadonlyArray<string>
}

/** Bytes in one image of `set`. */
export const imageBytes = (set: Pick<ImageSet, "channels" | "height" | "width">): number =>
  set.channels * set.height * set.width

/** Number of examples per class index. */
export const countPerClass = (set: ImageSet): Array<number> => {
  const counts = new Array<number>(set.classes.length).fill(0)
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i] as number
    counts[l] = (counts[l] ?? 0) + 1
  }
  return counts
}

/** Sum of raw pixel bytes per class index (used to check readers against independent references). */
export const pixelSumPerClass = (set: ImageSet): Array<number> => {
  const sums = new Array<number>(set.classes.length).fill(0)
  const n = imageBytes(set)
  for (let i = 0; i < set.count; i++) {
    let s = 0
    const base = i * n
    for (let j = 0; j < n; j++) s += set.images[base + j] as number
    const l = set.labels[i] as number
    sums[l] = (sums[l] ?? 0) + s
  }
  return sums
}

/** Per-channel mean and standard deviation of pixels scaled to [0, 1]. */
export const channelStats = (set: ImageSet): { readonly mean: Array<number>; readonly std: Array<number> } => {
  const plane = set.height * set.width
  const mean: Array<number> = []
  const std: Array<number> = []
  for (let c = 0; c < set.channels; c++) {
    let s = 0
    let s2 = 0
    for (let i = 0; i < set.count; i++) {
      const base = (i * set.channels + c) * plane
      for (let j = 0; j < plane; j++) {
        const v = set.images[base + j] as number
        s += v
        s2 += v * v
      }
    }
    const n = Math.max(1, set.count * plane)
    const m = s / n
    mean.push(m / 255)
    std.push(Math.sqrt(Math.max(0, s2 / n - m * m)) / 255)
  }
  return { mean, std }
}
