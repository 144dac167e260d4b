/** Canonical JSON (sorted keys, no whitespace) and sha256, the basis of cache keys. */
import { createHash } from "node:crypto"

/** JSON with object keys sorted at every level; `undefined` fields dropped. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value))
    return JSON.stringify(value) ?? "null"
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
}

export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")
