/**
 * Declaration sites from V8 stack frames: where `Stage.make` or a registry's
 * `register` was called. The runtime fingerprints the code at that site.
 */

/** Where a stage was declared or a plugin registered; used by the runtime's code fingerprint. */
export interface SourceLocation {
  readonly file: string
  readonly line: number
  readonly column: number
}

/**
 * The file, line and column of one V8 stack frame ("    at f (FILE:L:C)" or
 * "    at FILE:L:C"); paths may contain spaces and parentheses, `file://`
 * URLs are decoded. Undefined for frames without a position.
 */
export const parseFrame = (frame: string): SourceLocation | undefined => {
  const body = frame.replace(/^\s*at\s+/, "").trimEnd()
  // "name (location)": the location is inside the last parenthesis pair that closes the frame
  const inner = body.endsWith(")") && body.includes(" (") ? body.slice(body.indexOf(" (") + 2, -1) : body
  const m = /^(?:async\s+)?(.+):(\d+):(\d+)$/.exec(inner)
  if (m === null || m[1] === undefined) return undefined
  const file = m[1].startsWith("file://") ? decodeURIComponent(new URL(m[1]).pathname) : m[1]
  return { file, line: Number(m[2]), column: Number(m[3]) }
}

/**
 * The position of the code that called the function calling `callerSite`
 * (source-mapped under tsx and vitest): called from `make`, it is the line
 * that calls `make`.
 */
export const callerSite = (): SourceLocation | undefined => {
  const stack = new Error().stack?.split("\n") ?? []
  // [0] "Error", [1] callerSite, [2] the function asking, [3] its caller
  const frame = stack[3]
  return frame === undefined ? undefined : parseFrame(frame)
}
