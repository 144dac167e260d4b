/**
 * Datasets and the input pipeline: readers (IDX, CIFAR binary, image folders,
 * synthetic), the dataset registry and spec, dataset identity for cache keys,
 * seeded augmentation (random resized crop, flip, normalization, DINO
 * multi-crop, MAE masking), subsets, a prefetching batch loader whose
 * batches are plain typed arrays (`tensors.ts` turns them into tf tensors),
 * and the batch sources the stages iterate (`source.ts`: an in-memory loader,
 * or a split streamed from its files).
 *
 * @example
 * const registry = makeDefaultRegistry()
 * const spec = yield* registry.resolve("fashion-mnist", { split: "train" })
 * const set = yield* registry.load(spec)
 * const loader = yield* makeLoader(set, { batchSize: 64, normalization: spec.normalization, augmentation: randomCrop({ size: 28 }) })
 */
export * from "./errors.ts"
export * from "./ImageSet.ts"
export * from "./spec.ts"
export type { DatasetReader, StreamPlan } from "./reader.ts"
export * from "./registry.ts"
export * from "./builtins.ts"
export { datasetIdentity } from "./identity.ts"
export { Rng, hashKeys } from "./prng.ts"
export {
  type Augmentation,
  AugmentationConfigError,
  compileAugmentation,
  masked,
  multiCrop,
  randomCrop,
  resize,
} from "./augment/augmentation.ts"
export { maskedCount } from "./augment/masking.ts"
export * from "./loader.ts"
export {
  asSource,
  type BatchSource,
  loaderSource,
  type MemorySplit,
  openSplit,
  type SourceError,
  SourceOrderError,
  type SplitData,
  type SplitMeta,
  type StreamedSplit,
  streamSource,
  type StreamSourceOptions,
} from "./source.ts"
export * from "./subset.ts"
export { idxReader, IdxOptions } from "./readers/idx.ts"
export { cifarReader, CifarOptions } from "./readers/cifar.ts"
export { imageFolderReader, ImageFolderOptions } from "./readers/imageFolder.ts"
export { syntheticReader, SyntheticOptions, syntheticVariants, type SyntheticVariant } from "./readers/synthetic.ts"
export { type FolderIndex, indexImageFolder } from "./stream/folderIndex.ts"
export { type DecodePool, makeDecodePool } from "./stream/pool.ts"
export { batchesPerEpoch, type StreamBatch, streamEpoch, type StreamOptions } from "./stream/stream.ts"
export { imagenetEntry, imagenetFolderReader } from "./stream/imagenetEntry.ts"
