/**
 * Reading and writing safetensors files. Reads check the declared header
 * length against the file size before allocating, validate the header, then
 * read tensors one at a time with positional reads (no whole-file buffer); writes go to a temporary
 * file renamed into place, so a crash never leaves a partial checkpoint.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, type Scope } from "effect"
import { type FileHandle, open, rename, rm, writeFile } from "node:fs/promises"
import { CheckpointIoError, type SafetensorsFormatError, TensorNotFound } from "../errors.ts"
import { headerLength, parseHeader, type SafetensorsContents, type TensorEntry, type TensorLayout } from "./decode.ts"
import { decodeToFloat32 } from "./dtype.ts"
import { encodeSafetensors, type TensorToWrite } from "./encode.ts"

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Positional read of exactly `length` bytes at `position` (chunks of at most 1 GiB). */
const readAt = async (handle: FileHandle, position: number, length: number): Promise<Uint8Array> => {
  const bytes = new Uint8Array(length)
  let at = 0
  while (at < length) {
    const { bytesRead } = await handle.read(bytes, at, Math.min(length - at, 1 << 30), position + at)
    if (bytesRead === 0) throw new Error(`file ended at byte ${position + at}, ${length - at} bytes short`)
    at += bytesRead
  }
  return bytes
}

/** An open safetensors file: its validated layout, and its tensors read one at a time. */
export interface SafetensorsFile {
  readonly file: string
  readonly metadata: Readonly<Record<string, string>>
  /** Entries in header order, with their byte length. */
  readonly entries: ReadonlyMap<string, TensorLayout & { readonly byteLength: number }>
  /** Reads one tensor's bytes with a positional read ({@link TensorNotFound} for an unknown name). */
  readonly read: (name: string) => Effect.Effect<TensorEntry, TensorNotFound | CheckpointIoError>
}

/**
 * Opens a safetensors file of any size (closed with the scope): reads the
 * 8-byte length and the header, validates every entry against the file size,
 * and reads no tensor data until asked.
 */
export const openSafetensors = (file: string): Effect.Effect<SafetensorsFile, CheckpointIoError | SafetensorsFormatError, Scope.Scope> =>
  Effect.gen(function*() {
    const io = (operation: "read" | "write") => (e: unknown) => new CheckpointIoError({ file, operation, reason: reason(e) })
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => open(file, "r"), catch: io("read") }),
      (h) => Effect.promise(() => h.close().catch(() => undefined)),
    )
    const size = yield* Effect.tryPromise({
      try: async () => {
        const st = await handle.stat()
        if (!st.isFile()) throw new Error("not a regular file")
        return st.size
      },
      catch: io("read"),
    })
    const first = yield* Effect.tryPromise({ try: () => readAt(handle, 0, Math.min(8, size)), catch: io("read") })
    const n = headerLength(first, size, file)
    if (typeof n !== "number") return yield* n
    const header = yield* Effect.tryPromise({ try: () => readAt(handle, 8, n), catch: io("read") })
    const layout = parseHeader(header, size, file)
    if ("_tag" in layout) return yield* layout
    const entries = new Map(layout.tensors.map((t) => [t.name, { ...t, byteLength: t.end - t.begin }] as const))
    const read = (name: string): Effect.Effect<TensorEntry, TensorNotFound | CheckpointIoError> => {
      const t = entries.get(name)
      if (t === undefined) return Effect.fail(new TensorNotFound({ file, tensor: name, available: [...entries.keys()] }))
      return Effect.tryPromise({
        try: async () => ({ name, dtype: t.dtype, shape: t.shape, bytes: await readAt(handle, layout.dataStart + t.begin, t.byteLength) }),
        catch: io("read"),
      })
    }
    return { file, metadata: layout.metadata, entries, read }
  })

/**
 * Reads and validates a safetensors file: header first, then each tensor into
 * its own buffer with positional reads, so files over 2 GiB load (as long as
 * their tensors fit in memory) and a bad header is found before any data is read.
 */
export const readSafetensors = (file: string): Effect.Effect<SafetensorsContents, CheckpointIoError | SafetensorsFormatError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const st = yield* openSafetensors(file)
      const tensors = new Map<string, TensorEntry>()
      for (const name of st.entries.keys()) {
        tensors.set(name, yield* st.read(name).pipe(Effect.catchTag("TensorNotFound", (e) => Effect.die(e))))
      }
      return { file, metadata: st.metadata, tensors }
    }),
  )

/** Writes tensors atomically (temp file + rename). */
export const writeSafetensors = (
  file: string,
  tensors: ReadonlyArray<TensorToWrite>,
  metadata: Readonly<Record<string, string>> = {},
): Effect.Effect<void, CheckpointIoError> =>
  Effect.tryPromise({
    try: async () => {
      const bytes = encodeSafetensors(tensors, metadata)
      const tmp = `${file}.tmp-${process.pid}-${Date.now()}`
      try {
        await writeFile(tmp, bytes)
        await rename(tmp, file)
      } catch (e) {
        await rm(tmp, { force: true })
        throw e
      }
    },
    catch: (e) => new CheckpointIoError({ file, operation: "write", reason: reason(e) }),
  })

/** A tensor entry as float32 values. */
export const entryToFloat32 = (e: TensorEntry): Float32Array => decodeToFloat32(e.dtype, e.bytes, e.shape.reduce((a, b) => a * b, 1))

/** A tensor entry as a float32 tfjs tensor (caller disposes). */
export const entryToTensor = (e: TensorEntry): tf.Tensor => tf.tensor(entryToFloat32(e), [...e.shape], "float32")

/** The named tensor of a file, or {@link TensorNotFound}. */
export const getEntry = (contents: SafetensorsContents, name: string): Effect.Effect<TensorEntry, TensorNotFound> => {
  const e = contents.tensors.get(name)
  return e === undefined
    ? Effect.fail(new TensorNotFound({ file: contents.file, tensor: name, available: [...contents.tensors.keys()] }))
    : Effect.succeed(e)
}
