/**
 * The marker file that identifies a folder as an ssl-kd store
 * (`<root>/.ssl-kd-store`). `run` creates it in an empty or missing folder;
 * `run`, `cache gc`, `cache verify` and `cache ls` refuse a folder that is
 * neither empty nor a store, so a mistyped `--cache-dir` never has its
 * `tmp/` or `corrupt/` files deleted. A store written before the marker
 * existed (only the store's own folders, among them `entries/`, `runs/` or
 * `memo/`) is adopted: the marker is written.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { ioError, NotAStoreError, type StoreIOError } from "./errors.ts"

export const STORE_MARKER = ".ssl-kd-store"

const STORE_FOLDERS = new Set(["entries", "tmp", "locks", "runs", "memo", "scratch", "corrupt", "outputs"])
const CONTENT_FOLDERS = ["entries", "runs", "memo"]

/**
 * Check (and with `create`, make) `root` a store. Without `create`, a missing
 * or empty folder is accepted as an empty store and nothing is written.
 */
export const ensureStore = (root: string, options: { readonly create: boolean }): Effect.Effect<void, NotAStoreError | StoreIOError> =>
  Effect.tryPromise({
    try: async (): Promise<NotAStoreError | undefined> => {
      const abs = path.resolve(root)
      const marker = path.join(abs, STORE_MARKER)
      let names: Array<string>
      try {
        names = await fs.readdir(abs)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === "ENOENT") names = []
        else if (code === "ENOTDIR") return new NotAStoreError({ root: abs, found: ["(a file, not a folder)"] })
        else throw e
      }
      const write = async () => {
        await fs.mkdir(abs, { recursive: true })
        await fs.writeFile(marker, `${JSON.stringify({ store: "ssl-kd", formatVersion: 1 })}\n`)
      }
      if (names.includes(STORE_MARKER)) {
        const st = await fs.lstat(marker)
        return st.isFile() ? undefined : new NotAStoreError({ root: abs, found: [`${STORE_MARKER} (not a regular file)`] })
      }
      if (names.length === 0) {
        if (options.create) await write()
        return undefined
      }
      const legacy = names.every((n) => STORE_FOLDERS.has(n)) && CONTENT_FOLDERS.some((n) => names.includes(n))
      if (!legacy) return new NotAStoreError({ root: abs, found: names.sort().slice(0, 5) })
      await write()
      return undefined
    },
    catch: ioError("check the store folder", root),
  }).pipe(Effect.flatMap((e) => (e === undefined ? Effect.void : Effect.fail(e))))
