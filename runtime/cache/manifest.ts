/**
 * The manifest of a cache entry: what produced it (stage, config, input keys,
 * code fingerprint, dataset identity), when and where (timings, backend,
 * versions), and a checksum per payload file. Written last into the entry's
 * temp folder, so an entry without a valid manifest is never complete.
 */
import { Schema } from "effect"

/** Bumped when the layout or key recipe changes; part of every cache key. */
export const FORMAT_VERSION = 1

export const PayloadFile = Schema.Struct({
  name: Schema.String,
  size: Schema.Int,
  sha256: Schema.String,
})
export type PayloadFile = typeof PayloadFile.Type

export const Manifest = Schema.Struct({
  formatVersion: Schema.Int,
  key: Schema.String,
  stage: Schema.String,
  node: Schema.String,
  pipeline: Schema.String,
  output: Schema.String,
  config: Schema.Unknown,
  inputs: Schema.Record(Schema.String, Schema.Unknown),
  codeFingerprint: Schema.String,
  /** User plugins the config names (runtime/executor/plugins.ts); absent when none. */
  plugins: Schema.optionalKey(Schema.Array(Schema.Struct({ what: Schema.String, name: Schema.String, site: Schema.String, code: Schema.String }))),
  datasetIdentity: Schema.NullOr(Schema.String),
  reads: Schema.Array(Schema.String),
  timings: Schema.Struct({
    startedAt: Schema.String,
    finishedAt: Schema.String,
    durationMs: Schema.Finite,
    /**
     * The highest resident memory of the process that ran the stage, sampled while it ran
     * (`runtime/executor/memory.ts`); it includes stages running beside it. Absent in older entries.
     */
    peakRssBytes: Schema.optionalKey(Schema.Finite),
  }),
  backend: Schema.String,
  /**
   * Set on an entry carried over from an entry of older code (`ssl-kd cache
   * adopt`, runtime/executor/adopt.ts): that entry's key and code fingerprint,
   * the fingerprint of the code that computed the payload (the first of a
   * chain of adoptions) and when. Absent on entries computed under their own key.
   */
  adoptedFrom: Schema.optionalKey(Schema.Struct({
    key: Schema.String,
    codeFingerprint: Schema.String,
    computedWithCode: Schema.String,
    adoptedAt: Schema.String,
  })),
  versions: Schema.Record(Schema.String, Schema.String),
  files: Schema.Array(PayloadFile),
})
export type Manifest = typeof Manifest.Type
