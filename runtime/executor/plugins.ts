/**
 * Registered plugins a stage uses, for its cache key and its pool worker.
 *
 * A stage names plugins through its config: a teacher `"ibot"`, a loss key
 * `"my-kd"`, a dataset `"my-blobs"`. Every string in the canonical config (a
 * value, or an object key) that is a registered name in some registry
 * (dsl/Registry.ts) counts, with the site where it was registered. The
 * library's own registrations (files under its `dsl/`, `runtime/`,
 * `plugins/`) add nothing: each is made in the module that holds its
 * registry, so a stage that can look it up reaches that module and has its
 * registrations in its code fingerprint already. Nor does a registration in
 * a file the stage's closure read. Any other, a user's plugin file, adds the
 * fingerprint of the code at its registration site to the key, and its
 * module is imported by the worker before the stage's. Matching by name over-approximates: a config string that happens
 * to equal a registered name adds that registration too (a rerun too many,
 * never a stale entry).
 *
 * Not covered: a stage that finds a plugin by a name it does not receive in
 * its config (e.g. from an input artifact's content). Such a stage should
 * take the name in its config.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { allRegistries } from "../../dsl/Registry.ts"
import type { SourceLocation } from "../../dsl/Stage.ts"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const LIBRARY = ["dsl", "runtime", "plugins"].map((d) => path.join(ROOT, d) + path.sep)

/** Whether `file` is one of the library's own (its registrations are built-ins). */
export const isLibraryFile = (file: string): boolean => LIBRARY.some((dir) => file.startsWith(dir))

/** One registered value a config names. */
export interface PluginUse {
  /** The registry's kind ("teacher", "loss", "dataset", ...). */
  readonly what: string
  readonly name: string
  readonly site: SourceLocation
}

/** Every string of a JSON value: leaves and object keys. */
const strings = (v: unknown, out: Set<string>): Set<string> => {
  if (typeof v === "string") out.add(v)
  else if (Array.isArray(v)) for (const x of v) strings(x, out)
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      out.add(k)
      strings(x, out)
    }
  }
  return out
}

/** User registrations (a known site outside the library) whose names occur in `config`, sorted by kind and name. */
export const pluginsNamed = (config: unknown): ReadonlyArray<PluginUse> => {
  const names = strings(config, new Set())
  const out = new Map<string, PluginUse>()
  for (const registry of allRegistries()) {
    for (const name of names) {
      const r = registry.registration(name)
      if (r?.site === undefined || isLibraryFile(r.site.file)) continue
      const id = `${registry.what}\u0000${name}\u0000${r.site.file}:${r.site.line}:${r.site.column}`
      out.set(id, { what: registry.what, name, site: r.site })
    }
  }
  return [...out.values()].sort((a, b) => a.what.localeCompare(b.what) || a.name.localeCompare(b.name))
}

/** A plugin in a cache key and a manifest: what, name, where it was registered, the code fingerprint there. */
export interface PluginKey {
  readonly what: string
  readonly name: string
  /** `file:line` of the registration. */
  readonly site: string
  readonly code: string
}
