/**
 * Reading and writing safetensors files. Reads check the declared header
 * length against the file size before allocating; writes go to a temporary
 * file renamed into place, so a crash never leaves a partial checkpoint.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { open, rename, rm, writeFile } from "node:fs/promises"
import { CheckpointIoError, type SafetensorsFormatError, TensorNotFound } from "../errors.ts"
import { type SafetensorsContents, type TensorEntry, decodeSafetensors } from "./decode.ts"
import { decodeToFloat32 } from "./dtype.ts"
import { encodeSafetensors, type TensorToWrite } from "./encode.ts"

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Reads and validates a safetensors file (whole file in memory; tensors are views into it). */
export const readSafetensors = (file: string): Effect.Effect<SafetensorsContents, CheckpointIoError | SafetensorsFormatError> =>
  Effect.flatMap(
    Effect.tryPromise({
      try: async () => {
        const handle = await open(file, "r")
        try {
          const { size } = await handle.stat()
          const bytes = new Uint8Array(size)
          let at = 0
          while (at < size) {
            const { bytesRead } = await handle.read(bytes, at, size - at, at)
            if (bytesRead === 0) break
            at += bytesRead
          }
          return bytes.subarray(0, at)
        } finally {
          await handle.close()
        }
      },
      catch: (e) => new CheckpointIoError({ file, operation: "read", reason: reason(e) }),
    }),
    (bytes) => decodeSafetensors(bytes, file),
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
