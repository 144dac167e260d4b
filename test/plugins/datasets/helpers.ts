/** Test helpers: small valid dataset files written into temp folders, and typed-error extraction. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { Cause, Effect, Exit } from "effect"
import { Rng } from "../../../plugins/datasets/prng.ts"
import type { DatasetSpec } from "../../../plugins/datasets/spec.ts"

export const tempDir = (tag: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `ssl-kd-${tag}-`))

/** Runs an effect and returns its typed failure (or undefined on success); defects are rethrown. */
export const failureOf = async <A, E>(eff: Effect.Effect<A, E>): Promise<E | undefined> => {
  const exit = await Effect.runPromiseExit(eff)
  if (Exit.isSuccess(exit)) return undefined
  const fail = exit.cause.reasons.find(Cause.isFailReason)
  if (fail === undefined) throw new Error(`not a typed failure: ${Cause.pretty(exit.cause)}`)
  return fail.error
}

export const run = <A, E>(eff: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(eff)

const be32 = (v: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(v >>> 0)
  return b
}

/** IDX3 images bytes for `count` images of rows x cols, pixels from a seeded stream. */
export const idxImages = (count: number, rows: number, cols: number, seed = 1): { bytes: Buffer; pixels: Uint8Array } => {
  const rng = Rng.seeded(seed)
  const pixels = Uint8Array.from({ length: count * rows * cols }, () => rng.int(256))
  return { bytes: Buffer.concat([Buffer.from([0, 0, 8, 3]), be32(count), be32(rows), be32(cols), pixels]), pixels }
}

/** IDX1 label bytes. */
export const idxLabels = (labels: ReadonlyArray<number>): Buffer =>
  Buffer.concat([Buffer.from([0, 0, 8, 1]), be32(labels.length), Buffer.from(labels)])

/** Writes a tiny IDX dataset (optionally gzip) and returns its spec. */
export const writeIdx = (
  dir: string,
  o: { count?: number; size?: number; classes?: number; gzip?: boolean; seed?: number } = {},
): { spec: DatasetSpec; pixels: Uint8Array; labels: Array<number> } => {
  const count = o.count ?? 20
  const size = o.size ?? 6
  const k = o.classes ?? 4
  const labels = Array.from({ length: count }, (_, i) => (i * 7 + 3) % k)
  const { bytes, pixels } = idxImages(count, size, size, o.seed ?? 1)
  const suffix = o.gzip === true ? ".gz" : ""
  const enc = (b: Buffer) => (o.gzip === true ? zlib.gzipSync(b) : b)
  fs.writeFileSync(path.join(dir, `train-images-idx3-ubyte${suffix}`), enc(bytes))
  fs.writeFileSync(path.join(dir, `train-labels-idx1-ubyte${suffix}`), enc(idxLabels(labels)))
  const spec: DatasetSpec = {
    name: "tiny-idx",
    reader: "idx",
    path: dir,
    split: "train",
    classes: Array.from({ length: k }, (_, i) => `c${i}`),
    imageSize: { channels: 1, height: size, width: size },
    normalization: { mean: [0.5], std: [0.25] },
    options: { images: `train-images-idx3-ubyte${suffix}`, labels: `train-labels-idx1-ubyte${suffix}` },
  }
  return { spec, pixels, labels }
}

/** Writes a tiny CIFAR-style binary batch (3 x size x size) and returns its spec. */
export const writeCifar = (
  dir: string,
  o: { count?: number; size?: number; layout?: "cifar10" | "cifar100-fine" | "cifar100-coarse"; files?: number } = {},
): { spec: DatasetSpec; pixels: Uint8Array; labels: Array<number> } => {
  const count = o.count ?? 10
  const size = o.size ?? 4
  const layout = o.layout ?? "cifar10"
  const nFiles = o.files ?? 2
  const k = layout === "cifar100-coarse" ? 20 : layout === "cifar100-fine" ? 100 : 10
  const rng = Rng.seeded(7)
  const per = 3 * size * size
  const pixels = Uint8Array.from({ length: count * nFiles * per }, () => rng.int(256))
  const labels: Array<number> = []
  const names: Array<string> = []
  for (let f = 0; f < nFiles; f++) {
    const parts: Array<Buffer> = []
    for (let i = 0; i < count; i++) {
      const idx = f * count + i
      const fine = (idx * 13) % 100
      const coarse = (idx * 3) % 20
      const label = layout === "cifar10" ? idx % 10 : layout === "cifar100-fine" ? fine : coarse
      labels.push(label)
      const head = layout === "cifar10" ? [label] : [coarse, fine]
      parts.push(Buffer.from(head), Buffer.from(pixels.subarray(idx * per, (idx + 1) * per)))
    }
    const name = `batch_${f}.bin`
    names.push(name)
    fs.writeFileSync(path.join(dir, name), Buffer.concat(parts))
  }
  const spec: DatasetSpec = {
    name: "tiny-cifar",
    reader: "cifar",
    path: dir,
    split: "train",
    classes: Array.from({ length: k }, (_, i) => `c${i}`),
    imageSize: { channels: 3, height: size, width: size },
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    options: { files: names, layout },
  }
  return { spec, pixels, labels }
}
