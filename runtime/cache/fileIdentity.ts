/**
 * Dataset identity: a content hash of the files a stage reads, memoized by
 * (size, mtime) so an unchanged multi-GB dataset is not re-read on every run.
 *
 * `identifyPaths(paths, memo)` accepts files and folders (walked recursively,
 * sorted, hidden entries skipped) and returns one sha256 over
 * `relative-path NUL size NUL content-sha256` lines. Replacing one file changes
 * the identity of exactly the stages that read it.
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Data, Effect } from "effect"

export class DatasetIdentityError extends Data.TaggedError("DatasetIdentityError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `cannot identify dataset path ${this.path}: ${this.reason}`
  }
}

export interface FileDigest {
  readonly size: number
  readonly mtimeMs: number
  readonly sha256: string
}

/** A memo of file digests keyed by absolute path; persisted by the caller. */
export interface DigestMemo {
  readonly get: (absPath: string) => FileDigest | undefined
  readonly set: (absPath: string, digest: FileDigest) => void
}

export const emptyMemo = (): DigestMemo & { readonly entries: Map<string, FileDigest> } => {
  const entries = new Map<string, FileDigest>()
  return { entries, get: (p) => entries.get(p), set: (p, d) => void entries.set(p, d) }
}

export const sha256File = (absPath: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash("sha256")
    createReadStream(absPath)
      .on("data", (chunk) => h.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")))
  })

const listFiles = async (absPath: string): Promise<ReadonlyArray<string>> => {
  const st = await fs.stat(absPath)
  if (st.isFile()) return [absPath]
  if (!st.isDirectory()) return []
  const out: Array<string> = []
  const names = (await fs.readdir(absPath)).filter((n) => !n.startsWith(".")).sort()
  for (const name of names) out.push(...(await listFiles(path.join(absPath, name))))
  return out
}

/** Digest of one file, reusing the memo when size and mtime are unchanged. */
export const digestFile = async (absPath: string, memo: DigestMemo): Promise<FileDigest> => {
  const st = await fs.stat(absPath)
  const known = memo.get(absPath)
  if (known !== undefined && known.size === st.size && known.mtimeMs === st.mtimeMs) return known
  const digest: FileDigest = { size: st.size, mtimeMs: st.mtimeMs, sha256: await sha256File(absPath) }
  memo.set(absPath, digest)
  return digest
}

/**
 * Identity of a set of files/folders. Paths are reported relative to each root
 * given, so moving a dataset folder as a whole keeps its identity.
 */
export const identifyPaths = (
  roots: ReadonlyArray<string>,
  memo: DigestMemo = emptyMemo(),
): Effect.Effect<string, DatasetIdentityError> =>
  Effect.forEach(roots, (root) =>
    Effect.tryPromise({
      try: async () => {
        const abs = path.resolve(root)
        const files = await listFiles(abs)
        const lines: Array<string> = []
        for (const f of files) {
          const d = await digestFile(f, memo)
          lines.push(`${path.relative(abs, f) || path.basename(f)}\u0000${d.size}\u0000${d.sha256}`)
        }
        return lines.join("\n")
      },
      catch: (e) =>
        new DatasetIdentityError({
          path: root,
          reason: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or folder" : String((e as Error).message ?? e),
        }),
    }),
  ).pipe(Effect.map((parts) => createHash("sha256").update(parts.join("\n--\n")).digest("hex")))
