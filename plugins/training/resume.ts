/**
 * Per-epoch checkpoints of a training loop, for resuming (DESIGN.md: "long
 * training stages checkpoint each epoch and resume"). Everything that changes
 * during training (model, momentum teacher, head, center, optimizer moments)
 * is a named variable; after every epoch they are written to one safetensors
 * file in the stage's scratch folder (atomically: temp file + rename), with
 * the epochs done and the loss curves so far in its metadata. At start, a
 * stage reads it back and continues with the next epoch.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { readSafetensors, writeSafetensors, entryToFloat32 } from "../checkpoints/safetensors/file.ts"
import { ResumeStateError } from "./errors.ts"

/** What the metadata records besides the tensors. */
export const ResumeMeta = Schema.Struct({
  /** Identifies the run's settings; a checkpoint of other settings is refused. */
  run: Schema.String,
  epochsDone: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  epochLosses: Schema.Array(Schema.Finite),
  stepLosses: Schema.Array(Schema.Finite),
})
export type ResumeMeta = typeof ResumeMeta.Type

const META_KEY = "ssl-kd.resume"

/** The checkpoint file in a scratch folder. */
export const resumeFile = (scratchDir: string): string => path.join(scratchDir, "resume.safetensors")

/** Writes every variable and `meta` to the scratch folder's checkpoint. */
export const saveResume = (scratchDir: string, vars: ReadonlyMap<string, tf.Variable>, meta: ResumeMeta) =>
  Effect.suspend(() => {
    const tensors = [...vars].map(([name, v]) => ({ name, shape: v.shape, data: Float32Array.from(v.dataSync()) }))
    return writeSafetensors(resumeFile(scratchDir), tensors, { [META_KEY]: JSON.stringify(Schema.encodeSync(ResumeMeta)(meta)) })
  })

/**
 * Reads the checkpoint back into `vars` (every variable must be in the file,
 * with its shape) and returns its metadata; `undefined` when there is none.
 * A checkpoint of another run (`run` differs) is refused with {@link ResumeStateError}.
 */
export const loadResume = (scratchDir: string, vars: ReadonlyMap<string, tf.Variable>, run: string) =>
  Effect.gen(function* () {
    const file = resumeFile(scratchDir)
    if (!fs.existsSync(file)) return undefined
    const fail = (field: string, reason: string) => new ResumeStateError({ file, field, reason })
    const contents = yield* readSafetensors(file).pipe(Effect.mapError((e) => fail("file", e.message)))
    const raw = contents.metadata[META_KEY]
    if (raw === undefined) return yield* fail(`metadata "${META_KEY}"`, "is missing")
    const parsed = yield* Effect.try({ try: (): unknown => JSON.parse(raw), catch: (e) => fail(`metadata "${META_KEY}"`, `is not JSON (${String(e)})`) })
    const meta = yield* Schema.decodeUnknownEffect(ResumeMeta)(parsed).pipe(Effect.mapError((e) => fail(`metadata "${META_KEY}"`, `does not decode: ${e.message}`)))
    if (meta.run !== run) return yield* fail("run", `is ${meta.run}, but this run is ${run}`)
    for (const [name, v] of vars) {
      const e = contents.tensors.get(name)
      if (e === undefined) return yield* fail(`tensor "${name}"`, "is missing")
      if (e.shape.length !== v.shape.length || e.shape.some((d, i) => d !== v.shape[i])) {
        return yield* fail(`tensor "${name}"`, `has shape [${e.shape.join(", ")}], expected [${v.shape.join(", ")}]`)
      }
    }
    for (const [name, v] of vars) {
      const e = contents.tensors.get(name)
      if (e !== undefined) tf.tidy(() => v.assign(tf.tensor(entryToFloat32(e), v.shape, "float32")))
    }
    return meta
  })

/** The identity of a run's settings: sha256 of the stage name and its decoded config. */
export const runIdentity = (stage: string, config: unknown): string =>
  createHash("sha256").update(stage).update("\u0000").update(JSON.stringify(config)).digest("hex").slice(0, 16)
