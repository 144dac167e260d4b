/**
 * IDX reader: the MNIST family (MNIST, Fashion-MNIST, KMNIST, EMNIST), gzip
 * or raw. Format (LeCun et al.): magic `00 00 08 nd` (unsigned bytes, nd
 * dimensions), nd big-endian u32 sizes, then the bytes. Images are IDX3
 * (count, rows, cols), labels IDX1 (count).
 *
 * Every header field is checked against the bytes actually present before
 * anything is sliced; errors name the file and the byte offset (offsets of a
 * gzip file count bytes of its inflated stream). Gzip files are inflated
 * incrementally, the header checked on the first bytes and the output capped
 * at the size it declares.
 */
import * as path from "node:path"
import * as zlib from "node:zlib"
import { Effect, Schema } from "effect"
import {
  BadMagicError,
  CorruptGzipError,
  CountMismatchError,
  type DatasetReadError,
  ImplausibleHeaderError,
  LabelOutOfRangeError,
  TrailingBytesError,
  TruncatedFileError,
} from "../errors.ts"
import type { ImageSet } from "../ImageSet.ts"
import { isGzip, MAX_FILE_BYTES, maybeGunzip, readWhole } from "../internal/files.ts"
import type { DatasetReader } from "../reader.ts"
import { checkNormalization, type DatasetSpec, decodeOptions } from "../spec.ts"

/** Options of an IDX dataset: file names relative to the spec's path. */
export const IdxOptions = Schema.Struct({
  images: Schema.String,
  labels: Schema.String,
  /** EMNIST stores images transposed relative to MNIST. */
  transpose: Schema.optional(Schema.Boolean).pipe(Schema.withDecodingDefault(Effect.succeed(false))),
})

/** Largest example count accepted from a header (far above EMNIST's 814k). */
export const MAX_IDX_COUNT = 1 << 26
const IMAGE_LIMITS = [MAX_IDX_COUNT, 4096, 4096]
const LABEL_LIMITS = [MAX_IDX_COUNT]

const hex = (bytes: Uint8Array, from: number, to: number): string =>
  Array.from(bytes.subarray(from, Math.min(to, bytes.length)), (b) => b.toString(16).padStart(2, "0")).join(" ")

const u32 = (b: Uint8Array, o: number): number =>
  (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0

/** Parsed IDX header: the dimensions and where the data starts. */
interface IdxHeader {
  readonly dims: ReadonlyArray<number>
  readonly dataOffset: number
  /** Header plus data bytes the dimensions declare. */
  readonly totalBytes: number
}

/** Checks magic and dimensions from the first bytes of an IDX file (the data need not be present yet). */
const parseIdxPrefix = (
  file: string,
  bytes: Uint8Array,
  ndims: number,
  limits: ReadonlyArray<number>,
): IdxHeader | BadMagicError | TruncatedFileError | ImplausibleHeaderError => {
  const headerBytes = 4 + 4 * ndims
  if (bytes.length < 4) return new TruncatedFileError({ file, offset: bytes.length, needed: 4, available: bytes.length })
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || bytes[3] !== ndims)
    return new BadMagicError({ file, offset: 0, found: hex(bytes, 0, 4), expected: `00 00 08 0${ndims} (IDX${ndims}, unsigned bytes)` })
  if (bytes.length < headerBytes) return new TruncatedFileError({ file, offset: bytes.length, needed: headerBytes, available: bytes.length })
  const dims: Array<number> = []
  let size = 1
  for (let d = 0; d < ndims; d++) {
    const v = u32(bytes, 4 + 4 * d)
    const limit = limits[d] as number
    if (v < 1 || v > limit)
      return new ImplausibleHeaderError({ file, offset: 4 + 4 * d, field: d === 0 ? "count" : `dimension ${d}`, value: v, expected: `1..${limit}` })
    dims.push(v)
    size *= v
  }
  return { dims, dataOffset: headerBytes, totalBytes: headerBytes + size }
}

/** Checks magic and dimensions of an unsigned-byte IDX file with `ndims` dimensions, and its length. */
export const parseIdxHeader = (
  file: string,
  bytes: Uint8Array,
  ndims: number,
  limits: ReadonlyArray<number>,
): Effect.Effect<IdxHeader, BadMagicError | TruncatedFileError | ImplausibleHeaderError | TrailingBytesError> => {
  const h = parseIdxPrefix(file, bytes, ndims, limits)
  if ("_tag" in h) return Effect.fail(h)
  const needed = h.totalBytes
  if (bytes.length < needed) return Effect.fail(new TruncatedFileError({ file, offset: bytes.length, needed, available: bytes.length }))
  if (bytes.length > needed) return Effect.fail(new TrailingBytesError({ file, offset: needed, extra: bytes.length - needed }))
  return Effect.succeed(h)
}

/** Trailing inflated bytes counted (not stored) before a gzip stream is abandoned. */
const MAX_TRAILING_COUNTED = 1 << 20

/**
 * Inflates a gzip IDX file incrementally: the magic and dimensions are
 * checked on the first inflated bytes, then exactly the declared size is
 * kept; inflation stops at the first failure, and at most
 * {@link MAX_TRAILING_COUNTED} bytes past the declared end are counted
 * (a gzip bomb costs neither memory nor the time to inflate it).
 */
const inflateIdx = (
  file: string,
  compressed: Uint8Array,
  ndims: number,
  limits: ReadonlyArray<number>,
): Effect.Effect<Uint8Array, DatasetReadError> =>
  Effect.callback<Uint8Array, DatasetReadError>((resume) => {
    const gz = zlib.createGunzip()
    let head = new Uint8Array(0)
    let out: Uint8Array | undefined
    let total = 0
    let extra = 0
    let done = false
    const finish = (e: Effect.Effect<Uint8Array, DatasetReadError>) => {
      if (done) return
      done = true
      gz.removeAllListeners("data")
      gz.destroy()
      resume(e)
    }
    gz.on("data", (chunk: Buffer) => {
      if (done) return
      if (out === undefined) {
        const joined = new Uint8Array(head.length + chunk.length)
        joined.set(head)
        joined.set(chunk, head.length)
        head = joined
        const h = parseIdxPrefix(file, head, ndims, limits)
        if ("_tag" in h) {
          if (h._tag !== "TruncatedFileError") finish(Effect.fail(h))
          return // need more bytes for the header
        }
        out = new Uint8Array(h.totalBytes)
        const keep = Math.min(head.length, h.totalBytes)
        out.set(head.subarray(0, keep))
        total = keep
        extra = head.length - keep
      } else {
        const keep = Math.min(chunk.length, out.length - total)
        out.set(chunk.subarray(0, keep), total)
        total += keep
        extra += chunk.length - keep
      }
      if (extra > MAX_TRAILING_COUNTED) finish(Effect.fail(new TrailingBytesError({ file, offset: out.length, extra })))
    })
    gz.on("end", () => {
      if (out === undefined) {
        const h = parseIdxPrefix(file, head, ndims, limits)
        return finish(Effect.fail("_tag" in h ? h : new TruncatedFileError({ file, offset: head.length, needed: 4 + 4 * ndims, available: head.length })))
      }
      if (total < out.length) return finish(Effect.fail(new TruncatedFileError({ file, offset: total, needed: out.length, available: total })))
      if (extra > 0) return finish(Effect.fail(new TrailingBytesError({ file, offset: out.length, extra })))
      finish(Effect.succeed(out))
    })
    gz.on("error", (e: NodeJS.ErrnoException) => {
      if (done) return
      // Locate the corruption as the whole-buffer reader does (compressed offsets); it fails early on a corrupt stream.
      finish(
        maybeGunzip(file, compressed, (out?.length ?? MAX_FILE_BYTES) + MAX_TRAILING_COUNTED).pipe(
          Effect.flatMap(() => Effect.fail(new CorruptGzipError({ file, offset: compressed.length, reason: String(e.message) }))),
        ),
      )
    })
    gz.end(compressed)
    return Effect.sync(() => {
      done = true
      gz.destroy()
    })
  })

/** Reads an IDX file, raw or gzip (inflated incrementally, bounded by its declared size), with its header checked. */
export const readIdx = (
  file: string,
  ndims: number,
  limits: ReadonlyArray<number>,
): Effect.Effect<Uint8Array, DatasetReadError> =>
  Effect.flatMap(readWhole(file), (bytes) => (isGzip(bytes) ? inflateIdx(file, bytes, ndims, limits) : Effect.succeed(bytes)))

/** Decodes an IDX3 images file and an IDX1 labels file into an ImageSet. */
export const decodeIdx = (
  spec: DatasetSpec,
  files: { readonly images: string; readonly labels: string; readonly transpose: boolean },
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
): Effect.Effect<ImageSet, DatasetReadError> =>
  Effect.gen(function* () {
    const { height, width, channels } = spec.imageSize
    const numClasses = spec.classes.length
    const img = yield* parseIdxHeader(files.images, imageBytes, 3, IMAGE_LIMITS)
    const lab = yield* parseIdxHeader(files.labels, labelBytes, 1, LABEL_LIMITS)
    const [count, rows, cols] = img.dims as [number, number, number]
    if (channels !== 1 || rows !== height || cols !== width)
      return yield* new ImplausibleHeaderError({
        file: files.images,
        offset: 8,
        field: "rows x cols",
        value: rows * cols,
        expected: `${height} x ${width} with 1 channel (the spec's image size ${channels}x${height}x${width}), found ${rows} x ${cols}`,
      })
    if (lab.dims[0] !== count)
      return yield* new CountMismatchError({
        file: files.labels,
        offset: 4,
        count: lab.dims[0] as number,
        otherFile: files.images,
        otherCount: count,
      })
    const labels = new Int32Array(count)
    for (let i = 0; i < count; i++) {
      const l = labelBytes[lab.dataOffset + i] as number
      if (l >= numClasses) return yield* new LabelOutOfRangeError({ file: files.labels, offset: lab.dataOffset + i, label: l, numClasses })
      labels[i] = l
    }
    const plane = rows * cols
    const images = imageBytes.slice(img.dataOffset, img.dataOffset + count * plane)
    if (files.transpose) {
      const tmp = new Uint8Array(plane)
      for (let i = 0; i < count; i++) {
        const im = images.subarray(i * plane, (i + 1) * plane)
        for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) tmp[x * rows + y] = im[y * cols + x] as number
        im.set(tmp)
      }
    }
    return { name: spec.name, split: spec.split, images, labels, count, channels: 1, height: rows, width: cols, classes: spec.classes }
  })

const filesOf = (spec: DatasetSpec, o: typeof IdxOptions.Type) => ({
  images: path.resolve(spec.path, o.images),
  labels: path.resolve(spec.path, o.labels),
  transpose: o.transpose ?? false,
})

/** The IDX reader (`reader: "idx"`). */
export const idxReader: DatasetReader = {
  name: "idx",
  summary: "IDX files (MNIST family), gzip or raw: options { images, labels, transpose? }",
  files: (spec) => {
    const o = spec.options
    return [o["images"], o["labels"]].filter((f): f is string => typeof f === "string").map((f) => path.resolve(spec.path, f))
  },
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const files = filesOf(spec, yield* decodeOptions(spec, IdxOptions))
      const [imageBytes, labelBytes] = yield* Effect.all([readIdx(files.images, 3, IMAGE_LIMITS), readIdx(files.labels, 1, LABEL_LIMITS)], {
        concurrency: 2,
      })
      return yield* decodeIdx(spec, files, imageBytes, labelBytes)
    }),
}
