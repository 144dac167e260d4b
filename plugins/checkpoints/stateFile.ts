/**
 * A checkpoint file's weights as a flat state dict, whatever the format:
 * safetensors, or a PyTorch `.pth` zip read by the restricted unpickler
 * (official DINO / MAE layouts mapped to timm names, `pth/layouts.ts`).
 * The format is told by the file's first bytes (zip signature), not its name.
 * Used by `ssl-kd extract` and `teachers/load-checkpoint`.
 */
import { Effect } from "effect"
import { open } from "node:fs/promises"
import { CheckpointIoError, type SafetensorsFormatError } from "./errors.ts"
import type { PthFormatError, PthLayoutError } from "./pth/errors.ts"
import { readPth } from "./pth/file.ts"
import { pthStateDict, type PthStateOptions } from "./pth/layouts.ts"
import { readSafetensors } from "./safetensors/file.ts"
import type { FloatTensor } from "./timmFilter.ts"
import { floatState } from "./vitCheckpoint.ts"

/** A state dict and what reading it changed (layout notes). */
export interface StateFile {
  readonly format: "safetensors" | "pth"
  readonly state: ReadonlyMap<string, FloatTensor>
  readonly notes: ReadonlyArray<string>
}

export type StateFileError = CheckpointIoError | SafetensorsFormatError | PthFormatError | PthLayoutError

const firstBytes = (file: string): Effect.Effect<Uint8Array, CheckpointIoError> =>
  Effect.tryPromise({
    try: async () => {
      const h = await open(file, "r")
      try {
        const b = new Uint8Array(4)
        const { bytesRead } = await h.read(b, 0, 4, 0)
        return b.subarray(0, bytesRead)
      } finally {
        await h.close()
      }
    },
    catch: (e) => new CheckpointIoError({ file, operation: "read", reason: e instanceof Error ? e.message : String(e) }),
  })

/** Reads a `.safetensors` or `.pth` checkpoint as a flat float32 state dict. */
export const readStateFile = (file: string, options: PthStateOptions = {}): Effect.Effect<StateFile, StateFileError> =>
  Effect.gen(function* () {
    const head = yield* firstBytes(file)
    const zip = head.length === 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04
    if (!zip) return { format: "safetensors" as const, state: floatState(yield* readSafetensors(file)), notes: [] }
    const { state, layout, notes } = yield* pthStateDict(yield* readPth(file), options)
    return { format: "pth" as const, state, notes: [`PyTorch checkpoint, ${layout} layout`, ...notes] }
  })
