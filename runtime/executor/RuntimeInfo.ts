/**
 * Facts about the running environment recorded in every manifest: the tensor
 * backend in use and the versions of what produced an entry.
 */
import { readFileSync } from "node:fs"
import { Context } from "effect"

const packageVersion = (name: string): string => {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
    return String((JSON.parse(readFileSync(url, "utf8")) as { version?: unknown }).version ?? "?")
  } catch {
    return "?"
  }
}

const ownVersion = (): string => {
  try {
    return String((JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown }).version)
  } catch {
    return "?"
  }
}

export interface RuntimeInfoShape {
  /** Tensor backend, e.g. `wasm (tfjs 4.22.0)`; `none` when no stage loaded tfjs. */
  readonly backend: () => string
  readonly versions: Readonly<Record<string, string>>
}

export const defaultVersions = (): Readonly<Record<string, string>> => ({
  node: process.version,
  "ssl-kd": ownVersion(),
  effect: packageVersion("effect"),
  "@tensorflow/tfjs-core": packageVersion("@tensorflow/tfjs-core"),
})

export const RuntimeInfo = Context.Reference<RuntimeInfoShape>("ssl-kd/RuntimeInfo", {
  defaultValue: () => ({ backend: () => "none", versions: defaultVersions() }),
})
