/**
 * Failure modes of checkpoint files. Each names the file and, where there is
 * one, the tensor, and says what was expected; malformed input ends here,
 * never in a crash or a huge allocation.
 */
import { Data } from "effect"

/** The file could not be read or written at all. */
export class CheckpointIoError extends Data.TaggedError("CheckpointIoError")<{
  readonly file: string
  readonly operation: "read" | "write"
  readonly reason: string
}> {
  override get message(): string {
    return `cannot ${this.operation} checkpoint file ${this.file}: ${this.reason}`
  }
}

/** The file ends before the header or data it declares. */
export class SafetensorsTruncated extends Data.TaggedError("SafetensorsTruncated")<{
  readonly file: string
  readonly needed: number
  readonly size: number
  readonly part: string
}> {
  override get message(): string {
    return `${this.file} is truncated: its ${this.part} needs ${this.needed} bytes but the file has ${this.size}; re-download or re-export it`
  }
}

/** The declared header length is above the format's bound. */
export class SafetensorsHeaderTooLarge extends Data.TaggedError("SafetensorsHeaderTooLarge")<{
  readonly file: string
  readonly headerLength: number
  readonly limit: number
}> {
  override get message(): string {
    return `${this.file}: header length ${this.headerLength} bytes exceeds the limit of ${this.limit}; this is not a safetensors file, or it is corrupt`
  }
}

/** The header is not a JSON object of tensor entries. */
export class SafetensorsBadHeader extends Data.TaggedError("SafetensorsBadHeader")<{
  readonly file: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file}: invalid safetensors header: ${this.problem}`
  }
}

/** A tensor entry is malformed (missing or ill-typed field). */
export class SafetensorsBadEntry extends Data.TaggedError("SafetensorsBadEntry")<{
  readonly file: string
  readonly tensor: string
  readonly field: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file}: tensor "${this.tensor}": field "${this.field}" ${this.problem}`
  }
}

/** A tensor's dtype is not one of the format's dtypes. */
export class SafetensorsUnsupportedDtype extends Data.TaggedError("SafetensorsUnsupportedDtype")<{
  readonly file: string
  readonly tensor: string
  readonly dtype: string
  readonly supported: ReadonlyArray<string>
}> {
  override get message(): string {
    return `${this.file}: tensor "${this.tensor}" has dtype "${this.dtype}"; expected one of ${this.supported.join(", ")}`
  }
}

/** dtype × shape does not match the tensor's byte range. */
export class SafetensorsShapeMismatch extends Data.TaggedError("SafetensorsShapeMismatch")<{
  readonly file: string
  readonly tensor: string
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly expectedBytes: number
  readonly actualBytes: number
}> {
  override get message(): string {
    return `${this.file}: tensor "${this.tensor}" is ${this.dtype}[${this.shape.join(", ")}] = ${this.expectedBytes} bytes, ` +
      `but its data_offsets span ${this.actualBytes} bytes`
  }
}

/** Tensor byte ranges fall outside the data section, overlap, or leave holes. */
export class SafetensorsBadOffsets extends Data.TaggedError("SafetensorsBadOffsets")<{
  readonly file: string
  readonly tensor: string
  readonly offsets: ReadonlyArray<number>
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file}: tensor "${this.tensor}" data_offsets [${this.offsets.join(", ")}] ${this.problem}`
  }
}

/** A tensor the caller needs is not in the file. */
export class TensorNotFound extends Data.TaggedError("TensorNotFound")<{
  readonly file: string
  readonly tensor: string
  readonly available: ReadonlyArray<string>
}> {
  override get message(): string {
    const shown = this.available.slice(0, 20).join(", ") + (this.available.length > 20 ? ", ..." : "")
    return `${this.file} has no tensor "${this.tensor}"; it has: ${shown || "(none)"}`
  }
}

/** Every key of a checkpoint that does not fit the model, listed at once. */
export class CheckpointMismatch extends Data.TaggedError("CheckpointMismatch")<{
  readonly file: string
  readonly arch: string
  readonly missing: ReadonlyArray<string>
  readonly unexpected: ReadonlyArray<string>
  readonly wrongShape: ReadonlyArray<{ readonly key: string; readonly expected: ReadonlyArray<number>; readonly actual: ReadonlyArray<number> }>
}> {
  override get message(): string {
    const lines = [`${this.file} does not fit model "${this.arch}":`]
    if (this.missing.length > 0) lines.push(`  missing keys (${this.missing.length}): ${this.missing.join(", ")}`)
    if (this.unexpected.length > 0) lines.push(`  unexpected keys (${this.unexpected.length}): ${this.unexpected.join(", ")}`)
    for (const w of this.wrongShape) lines.push(`  ${w.key}: expected [${w.expected.join(", ")}], file has [${w.actual.join(", ")}]`)
    lines.push("Check --arch (and the number of classes), or convert the file to timm names.")
    return lines.join("\n")
  }
}

export type SafetensorsFormatError =
  | SafetensorsTruncated
  | SafetensorsHeaderTooLarge
  | SafetensorsBadHeader
  | SafetensorsBadEntry
  | SafetensorsUnsupportedDtype
  | SafetensorsShapeMismatch
  | SafetensorsBadOffsets
