/**
 * `ssl-kd teachers [--with FILE]... [--json]`
 *
 * The registered SSL teachers: name, family (contrastive, masked-image-
 * modeling, other), architecture, weight source (default checkpoint, or the
 * stage that pretrains it) and input normalization. `--with FILE` imports a
 * user's module first, so the teachers it registers (`defineTeacher` +
 * `teachers.register`) are listed too.
 */
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Effect } from "effect"
import { weightSource } from "../../dsl/Teacher.ts"
import { parseWith } from "../../runtime/cli/args.ts"
import type { CommandHelp } from "../../runtime/cli/help.ts"
import type { CliCommand } from "../../runtime/cli/Command.ts"
import { table } from "../../runtime/cli/session.ts"

/** A `--with` module that could not be imported. */
export class TeacherModuleError extends Data.TaggedError("TeacherModuleError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `cannot import teacher module ${this.file}: ${this.reason}`
  }
}

const usage = "ssl-kd teachers [--with FILE.ts]... [--json]"

export const help = {
  usage,
  summary: "List the registered SSL teachers: family (contrastive, masked-image-modeling), architecture, weight source, input normalization.",
  options: {
    with: { type: "string", multiple: true, value: "FILE.ts", text: "Import this module first, so the teachers it registers are listed too.", example: "ssl-kd teachers --with my-teachers.ts" },
    json: { type: "boolean", text: "Print JSON on stdout.", example: "ssl-kd teachers --json" },
  },
} as const satisfies CommandHelp

export const command: CliCommand = {
  name: "teachers",
  summary: "list the registered SSL teachers: family, architecture, weight source",
  usage,
  help,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values } = yield* parseWith("teachers", help, argv)
      const { teachers } = yield* Effect.promise(() => import("../teachers/builtins.ts"))
      for (const file of values.with ?? []) {
        const abs = path.resolve(io.cwd, file)
        yield* Effect.tryPromise({
          try: () => import(pathToFileURL(abs).href),
          catch: (e) => new TeacherModuleError({ file, reason: e instanceof Error ? e.message.split("\n")[0] ?? e.message : String(e) }),
        })
      }
      const rows = teachers.values().map((t) => ({
        name: t.name,
        family: t.family,
        description: t.description,
        architecture: t.architecture,
        weightSource: weightSource(t),
        checkpoint: t.weights.checkpoint ?? null,
        naming: t.weights.naming,
        reference: t.weights.reference ?? null,
        pretrainStage: t.pretrain.name,
        normalization: t.normalization,
      }))
      if (values.json === true) io.out(JSON.stringify({ teachers: rows }, null, 2))
      else io.out(table([["teacher", "family", "architecture", "weights"], ...rows.map((r) => [r.name, r.family, r.architecture, r.weightSource])]))
      return 0
    }),
}
