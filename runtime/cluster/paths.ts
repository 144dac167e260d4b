/**
 * Paths in jobs: relative to the project root, `/`-separated, never leaving
 * it; each machine resolves them against its own checkout.
 */
import * as path from "node:path"
import { Data, Effect } from "effect"

/** A path that cannot travel to another machine (outside the project), or a job path that would leave the project. */
export class NotPortableError extends Data.TaggedError("NotPortableError")<{
  readonly what: string
  readonly path: string
  readonly projectRoot: string
}> {
  override get message() {
    return `${this.what} ${this.path} is not inside the project ${this.projectRoot}: cluster jobs carry paths relative to the project root (run ssl-kd from the checkout that holds the pipeline and its stages)`
  }
}

/** `file` (absolute, this machine) as a project-relative path with `/` separators. */
export const toProject = (projectRoot: string, file: string, what: string): Effect.Effect<string, NotPortableError> => {
  const rel = path.relative(projectRoot, file)
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) return Effect.fail(new NotPortableError({ what, path: file, projectRoot }))
  return Effect.succeed(rel.split(path.sep).join("/"))
}

/** A project-relative path of a job, resolved in this machine's checkout. */
export const fromProject = (projectRoot: string, rel: string, what: string): Effect.Effect<string, NotPortableError> => {
  const parts = rel.split("/")
  if (rel === "" || path.isAbsolute(rel) || parts.some((p) => p === ".." || p === "." || p === "")) return Effect.fail(new NotPortableError({ what, path: rel, projectRoot }))
  return Effect.succeed(path.join(projectRoot, ...parts))
}
