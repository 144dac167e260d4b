/**
 * Failure modes of PyTorch `.pth` files (zip archive + `data.pkl`). Each
 * names the file and the byte offset (in the archive, or in `data.pkl` for
 * the pickle) and what was expected; hostile or corrupt input ends here, and
 * nothing in the file is ever executed.
 */
import { Data } from "effect"

/** The archive is not a readable zip (not zip, truncated, bad entry, unsupported compression). */
export class PthZipError extends Data.TaggedError("PthZipError")<{
  readonly file: string
  readonly offset: number
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file}: not a readable PyTorch zip checkpoint at byte ${this.offset}: ${this.problem}`
  }
}

/** A pickle opcode the restricted unpickler does not implement (it implements only what state dicts use). */
export class PthOpcodeRefused extends Data.TaggedError("PthOpcodeRefused")<{
  readonly file: string
  readonly offset: number
  readonly opcode: string
}> {
  override get message(): string {
    return `${this.file}: data.pkl byte ${this.offset}: pickle opcode ${this.opcode} is refused (only tensor rebuilds and containers are read; nothing is executed)`
  }
}

/** A `GLOBAL` / `STACK_GLOBAL` naming something outside the allow-list. */
export class PthGlobalRefused extends Data.TaggedError("PthGlobalRefused")<{
  readonly file: string
  readonly offset: number
  readonly global: string
  readonly allowed: ReadonlyArray<string>
}> {
  override get message(): string {
    return `${this.file}: data.pkl byte ${this.offset}: global ${this.global} is refused (nothing is executed); allowed: ${this.allowed.join(", ")}`
  }
}

/** A `REDUCE` / `NEWOBJ` / `BUILD` applied to something it may not call. */
export class PthCallRefused extends Data.TaggedError("PthCallRefused")<{
  readonly file: string
  readonly offset: number
  readonly opcode: string
  readonly callable: string
  readonly allowed: ReadonlyArray<string>
}> {
  override get message(): string {
    return `${this.file}: data.pkl byte ${this.offset}: ${this.opcode} on ${this.callable} is refused (nothing is executed); allowed: ${this.allowed.join(", ")}`
  }
}

/** A malformed pickle stream (truncated, stack underflow, unknown memo entry, bad argument). */
export class PthPickleError extends Data.TaggedError("PthPickleError")<{
  readonly file: string
  readonly offset: number
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file}: data.pkl byte ${this.offset}: malformed pickle: ${this.problem}`
  }
}

/** A tensor whose storage is missing, of an unknown type, or reaches beyond its bytes. */
export class PthStorageError extends Data.TaggedError("PthStorageError")<{
  readonly file: string
  readonly storage: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.file}: storage ${this.storage}: ${this.problem}`
  }
}

/** The checkpoint's top level matches no known layout (plain state dict, DINO, MAE). */
export class PthLayoutError extends Data.TaggedError("PthLayoutError")<{
  readonly file: string
  readonly found: string
  readonly expected: string
}> {
  override get message(): string {
    return `${this.file}: ${this.found}; expected ${this.expected}`
  }
}

/** Any failure of reading a `.pth` file's structure. */
export type PthFormatError = PthZipError | PthOpcodeRefused | PthGlobalRefused | PthCallRefused | PthPickleError | PthStorageError
