/**
 * Code fingerprints of stages (ts-morph): sha256 over the normalized text of
 * the stage's declaration and of every project-local function, class,
 * constant and type it reaches transitively, across files, plus the names and
 * versions of the external packages it imports. Comments and formatting do not
 * count; moving code between files does not either.
 *
 * Results are memoized by file content: a stage whose files all hash as
 * before reuses its fingerprint without parsing anything (persisted in the
 * store's `memo/fingerprints.json`).
 */
import { readFileSync } from "node:fs"
import { Context, Data, Effect, Layer } from "effect"
import { sha256 } from "../cache/hash.ts"
import { makeJsonMemo } from "../cache/jsonMemo.ts"
import type { AnyStage, SourceLocation } from "../../dsl/Stage.ts"
import type { Computer } from "./internal/compute.ts"

export class FingerprintError extends Data.TaggedError("FingerprintError")<{
  readonly stage: string
  readonly reason: string
}> {
  override get message() {
    return `cannot fingerprint the code of stage ${this.stage}: ${this.reason}`
  }
}

export interface StageFingerprint {
  readonly fingerprint: string
  /** Files the closure read (absolute path -> content sha256). */
  readonly files: ReadonlyMap<string, string>
  /** Number of declarations and packages hashed. */
  readonly parts: number
  readonly fromMemo: boolean
  readonly millis: number
  /** `file#name` -> hash of each declaration in the closure (absent in memo entries written before it existed). */
  readonly declarations?: ReadonlyMap<string, string>
}

export interface FingerprinterShape {
  readonly fingerprint: (stage: AnyStage) => Effect.Effect<StageFingerprint, FingerprintError>
  /**
   * The fingerprint of the code at `site` (the top-level statement there and
   * its closure): the registration of a plugin (`label`, e.g. `teacher "ibot"`)
   * that `stage` uses.
   */
  readonly fingerprintSite: (stage: string, label: string, site: SourceLocation) => Effect.Effect<StageFingerprint, FingerprintError>
  /** Persist the memo (no-op for the in-memory fingerprinter). */
  readonly flush: Effect.Effect<void>
  /** Load ts-morph and the TypeScript compiler now, so that a later memo miss does not wait for them. */
  readonly warm: Effect.Effect<void>
}

export class Fingerprinter extends Context.Service<Fingerprinter, FingerprinterShape>()("ssl-kd/Fingerprinter") {}

interface MemoEntry {
  readonly fingerprint: string
  readonly parts: number
  readonly files: Record<string, string>
  readonly declarations?: Record<string, string>
}

const locationKey = (label: string, loc: SourceLocation) => `${label}@${loc.file}:${loc.line}:${loc.column}`

/**
 * A fingerprinter with an optional persisted memo file. ts-morph (and the
 * TypeScript compiler it carries) is loaded only on a memo miss, so a rerun
 * of an unchanged project never pays for it.
 */
export const makeFingerprinter = (memoFile: string | undefined): FingerprinterShape => {
  const memo = makeJsonMemo<MemoEntry>(memoFile)
  let computer: Promise<Computer> | undefined
  const loadComputer = (): Promise<Computer> => (computer ??= import("./internal/compute.ts").then((m) => m.makeComputer()))

  const memoHit = (entry: MemoEntry | undefined): boolean => {
    if (entry === undefined) return false
    for (const [file, digest] of Object.entries(entry.files)) {
      try {
        if (sha256(readFileSync(file)) !== digest) return false
      } catch {
        return false
      }
    }
    return true
  }

  const atSite = (memoLabel: string, stage: string, reasonPrefix: string, loc: SourceLocation | undefined): Effect.Effect<StageFingerprint, FingerprintError> =>
    Effect.tryPromise({
      try: async (): Promise<StageFingerprint> => {
        const t0 = performance.now()
        if (loc === undefined) throw new Error("its declaration site is unknown (declare stages with Stage.make at a module's top level)")
        const k = locationKey(memoLabel, loc)
        const entry = memo.get(k)
        if (entry !== undefined && memoHit(entry)) {
          return {
            fingerprint: entry.fingerprint,
            files: new Map(Object.entries(entry.files)),
            parts: entry.parts,
            fromMemo: true,
            millis: performance.now() - t0,
            ...(entry.declarations === undefined ? {} : { declarations: new Map(Object.entries(entry.declarations)) }),
          }
        }
        const r = (await loadComputer()).compute(loc)
        memo.set(k, { fingerprint: r.fingerprint, parts: r.parts, files: Object.fromEntries(r.files), declarations: Object.fromEntries(r.declarations) })
        return { fingerprint: r.fingerprint, files: r.files, parts: r.parts, fromMemo: false, millis: performance.now() - t0, declarations: r.declarations }
      },
      catch: (e) => new FingerprintError({ stage, reason: `${reasonPrefix}${e instanceof Error ? e.message : String(e)}` }),
    })
  return {
    fingerprint: (stage) => atSite(stage.name, stage.name, "", stage.location),
    fingerprintSite: (stage, label, site) => atSite("plugin", stage, `its plugin ${label} (registered at ${site.file}:${site.line}): `, site),
    flush: memo.flush,
    warm: Effect.promise(() => loadComputer()).pipe(Effect.asVoid),
  }
}

/** Fingerprinter whose memo lives in `memoFile` (the store's `memo/fingerprints.json`). */
export const layer = (memoFile: string | undefined): Layer.Layer<Fingerprinter> => Layer.sync(Fingerprinter, () => makeFingerprinter(memoFile))
