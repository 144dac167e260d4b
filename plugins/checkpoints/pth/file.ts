/**
 * Reading PyTorch `.pth` checkpoints (the zip format `torch.save` writes
 * since PyTorch 1.6: `<archive>/data.pkl`, `<archive>/data/<storage key>`,
 * `<archive>/version`) without Python and without executing anything: the
 * zip directory is validated (`zip.ts`), `data.pkl` goes through the
 * restricted unpickler (`unpickle.ts`), every storage is checked to exist and
 * to hold its declared elements, and tensors are materialized as float32 on
 * request (strided views copied out; F16 / BF16 widened exactly).
 */
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { CheckpointIoError } from "../errors.ts"
import { decodeToFloat32, type Dtype } from "../safetensors/dtype.ts"
import type { FloatTensor } from "../timmFilter.ts"
import { type PthFormatError, PthStorageError, PthZipError } from "./errors.ts"
import { type PickledTensor, type PickleValue, storageTypes, unpickle } from "./unpickle.ts"
import { entryBytes, isZip, readZipDirectory, type ZipEntry } from "./zip.ts"

const dtypeOf: Readonly<Record<string, Dtype>> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
}

/** A read `.pth` file: the unpickled object and a way to get any of its tensors as float32. */
export interface PthContents {
  readonly file: string
  readonly root: PickleValue
  readonly toFloat: (t: PickledTensor) => FloatTensor
}

const formatError = (e: unknown, file: string): PthFormatError =>
  typeof e === "object" && e !== null && "_tag" in e && String((e as { _tag: string })._tag).startsWith("Pth")
    ? (e as PthFormatError)
    : new PthZipError({ file, offset: 0, problem: e instanceof Error ? e.message : String(e) })

/** Decodes `.pth` bytes (see the module comment). */
export const decodePth = (bytes: Uint8Array, file: string): Effect.Effect<PthContents, PthFormatError> =>
  Effect.try({
    try: () => {
      if (!isZip(bytes))
        throw new PthZipError({ file, offset: 0, problem: "no zip signature: not a PyTorch >= 1.6 checkpoint (a legacy torch.save file? re-save it with torch.save in a current PyTorch)" })
      const entries = readZipDirectory(file, bytes)
      const pkl = [...entries.keys()].filter((n) => n === "data.pkl" || n.endsWith("/data.pkl"))
      if (pkl.length !== 1) throw new PthZipError({ file, offset: 0, problem: `${pkl.length} data.pkl members, expected exactly one (members: ${[...entries.keys()].slice(0, 10).join(", ")})` })
      const prefix = (pkl[0] as string).slice(0, -"data.pkl".length)
      const order = entries.get(`${prefix}byteorder`)
      if (order !== undefined && new TextDecoder().decode(entryBytes(file, bytes, order)).trim() !== "little")
        throw new PthZipError({ file, offset: order.dataOffset, problem: "big-endian tensors are not supported" })
      const storages = new Map<string, { readonly entry: ZipEntry; readonly dtype: Dtype }>()
      const root = unpickle(file, entryBytes(file, bytes, entries.get(pkl[0] as string) as ZipEntry), (type, key, numel) => {
        const member = `${prefix}data/${key}`
        const entry = entries.get(member)
        const size = storageTypes[type]
        const dtype = dtypeOf[type]
        if (size === undefined || dtype === undefined) throw new PthStorageError({ file, storage: key, problem: `type ${type} is not a tensor storage type` })
        if (entry === undefined) throw new PthStorageError({ file, storage: key, problem: `member ${member} is missing from the archive` })
        if (!Number.isSafeInteger(numel) || numel < 0 || numel * size > entry.size)
          throw new PthStorageError({ file, storage: key, problem: `declares ${numel} ${type} elements (${numel * size} bytes) but ${member} holds ${entry.size} bytes` })
        storages.set(key, { entry, dtype })
        return { kind: "storage", key, dtype: type, numel }
      })
      const cache = new Map<string, Float32Array>()
      const toFloat = (t: PickledTensor): FloatTensor => {
        const s = storages.get(t.storage.key) as { readonly entry: ZipEntry; readonly dtype: Dtype }
        let all = cache.get(t.storage.key)
        if (all === undefined) {
          all = decodeToFloat32(s.dtype, entryBytes(file, bytes, s.entry), t.storage.numel)
          cache.set(t.storage.key, all)
        }
        const numel = t.shape.reduce((a, b) => a * b, 1)
        const contiguous = t.stride.every((st, i) => st === t.shape.slice(i + 1).reduce((a, b) => a * b, 1) || (t.shape[i] as number) <= 1)
        if (contiguous) return { shape: [...t.shape], data: all.slice(t.offset, t.offset + numel) }
        const data = new Float32Array(numel)
        const idx = new Array<number>(t.shape.length).fill(0)
        for (let k = 0; k < numel; k++) {
          let src = t.offset
          for (let d = 0; d < idx.length; d++) src += (idx[d] as number) * (t.stride[d] as number)
          data[k] = all[src] as number
          for (let d = idx.length - 1; d >= 0; d--) {
            idx[d] = (idx[d] as number) + 1
            if ((idx[d] as number) < (t.shape[d] as number)) break
            idx[d] = 0
          }
        }
        return { shape: [...t.shape], data }
      }
      return { file, root, toFloat }
    },
    catch: (e) => formatError(e, file),
  })

/** Reads a `.pth` file whole and decodes it. */
export const readPth = (file: string): Effect.Effect<PthContents, CheckpointIoError | PthFormatError> =>
  Effect.tryPromise({
    try: async () => new Uint8Array(await readFile(file)),
    catch: (e) => new CheckpointIoError({ file, operation: "read", reason: e instanceof Error ? e.message : String(e) }),
  }).pipe(Effect.flatMap((bytes) => decodePth(bytes, file)))
