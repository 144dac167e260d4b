/**
 * Typed failures of the dataset plugin: one class per failure mode, data in
 * fields, and a `message` that says what is wrong and what to do about it.
 * Reader errors name the file and the byte offset where decoding stopped.
 */
import { Data } from "effect"

/** The files of a known dataset are not on disk. */
export class DatasetMissingError extends Data.TaggedError("DatasetMissingError")<{
  readonly dataset: string
  readonly path: string
  readonly hint: string
}> {
  override get message() {
    return `dataset ${this.dataset}: ${this.path} not found. ${this.hint}`
  }
}

/** A dataset spec field with a value the reader cannot use. */
export class DatasetSpecError extends Data.TaggedError("DatasetSpecError")<{
  readonly dataset: string
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message() {
    return `dataset ${this.dataset}: field "${this.field}" is ${this.value}, expected ${this.expected}`
  }
}

/** The operating system refused to read a file or folder. */
export class FileReadError extends Data.TaggedError("FileReadError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `cannot read ${this.file}: ${this.reason}`
  }
}

/** The first bytes of a file are not the format's magic number. */
export class BadMagicError extends Data.TaggedError("BadMagicError")<{
  readonly file: string
  readonly offset: number
  readonly found: string
  readonly expected: string
}> {
  override get message() {
    return `${this.file} at byte ${this.offset}: found ${this.found}, expected ${this.expected}; the file is not in the format its reader expects`
  }
}

/** The file ends before the data its header or record size announces. */
export class TruncatedFileError extends Data.TaggedError("TruncatedFileError")<{
  readonly file: string
  readonly offset: number
  readonly needed: number
  readonly available: number
}> {
  override get message() {
    return `${this.file} is truncated at byte ${this.offset}: ${this.needed} bytes needed, ${this.available} present; download the file again`
  }
}

/** The file holds bytes after the data its header announces. */
export class TrailingBytesError extends Data.TaggedError("TrailingBytesError")<{
  readonly file: string
  readonly offset: number
  readonly extra: number
}> {
  override get message() {
    return `${this.file} has ${this.extra} unexpected bytes after the data, starting at byte ${this.offset}; the header and the file size disagree`
  }
}

/** A header field (count, dimension) outside any plausible range; nothing is allocated from it. */
export class ImplausibleHeaderError extends Data.TaggedError("ImplausibleHeaderError")<{
  readonly file: string
  readonly offset: number
  readonly field: string
  readonly value: number
  readonly expected: string
}> {
  override get message() {
    return `${this.file} at byte ${this.offset}: header field ${this.field} is ${this.value}, expected ${this.expected}; the header is corrupt`
  }
}

/** A label byte not below the dataset's number of classes. */
export class LabelOutOfRangeError extends Data.TaggedError("LabelOutOfRangeError")<{
  readonly file: string
  readonly offset: number
  readonly label: number
  readonly numClasses: number
}> {
  override get message() {
    return `${this.file} at byte ${this.offset}: label ${this.label} is outside 0..${this.numClasses - 1}; the file is corrupt or belongs to another dataset`
  }
}

/** An images file and its labels file disagree on the number of examples. */
export class CountMismatchError extends Data.TaggedError("CountMismatchError")<{
  readonly file: string
  readonly offset: number
  readonly count: number
  readonly otherFile: string
  readonly otherCount: number
}> {
  override get message() {
    return `${this.file} (count at byte ${this.offset}) holds ${this.count} examples but ${this.otherFile} holds ${this.otherCount}; the two files do not belong together`
  }
}

/** A gzip stream that does not inflate (bad header, bad block, CRC, size). */
export class CorruptGzipError extends Data.TaggedError("CorruptGzipError")<{
  readonly file: string
  readonly offset: number
  readonly reason: string
}> {
  override get message() {
    return `${this.file}: gzip data is corrupt near compressed byte ${this.offset} (${this.reason}); download the file again`
  }
}

/** An image file that `sharp` cannot decode. */
export class ImageDecodeError extends Data.TaggedError("ImageDecodeError")<{
  readonly file: string
  readonly offset: number
  readonly reason: string
}> {
  override get message() {
    return `${this.file}: cannot decode image (byte ${this.offset}, ${this.reason}); remove or replace the file`
  }
}

/** Any failure of reading and decoding a dataset's files. */
export type DatasetReadError =
  | FileReadError
  | BadMagicError
  | TruncatedFileError
  | TrailingBytesError
  | ImplausibleHeaderError
  | LabelOutOfRangeError
  | CountMismatchError
  | CorruptGzipError
  | ImageDecodeError
  | DatasetSpecError

/** Tags of every reader error, for exhaustive checks (fuzz tests, CLI). */
export const datasetReadErrorTags: ReadonlyArray<DatasetReadError["_tag"]> = [
  "FileReadError",
  "BadMagicError",
  "TruncatedFileError",
  "TrailingBytesError",
  "ImplausibleHeaderError",
  "LabelOutOfRangeError",
  "CountMismatchError",
  "CorruptGzipError",
  "ImageDecodeError",
  "DatasetSpecError",
]
