/** Stages for the issue 17 executor tests: a fast stage with a sizeable payload, a busy one, a summarized one. */
import * as fs from "node:fs"
import { Effect, Schema } from "effect"
import { Artifact, Stage } from "../../dsl/index.ts"

export const Blob = Artifact.json("Blob", Schema.Array(Schema.Finite))
export const Note = Artifact.json("Note", Schema.String)

/** Shared probe: set by `fast` just before it returns; read by `busy`. */
export const probe = { fastDone: false, entryFile: "", stalls: 0, chunks: 0 }

export const fast = Stage.make({
  name: "test/hardening-fast",
  config: Schema.Struct({}),
  inputs: {},
  output: Blob,
  run: () =>
    Effect.sleep("50 millis").pipe(
      Effect.andThen(
        Effect.sync(() => {
          probe.fastDone = true
          return Array.from({ length: 50_000 }, (_, i) => i * 0.5)
        }),
      ),
    ),
})

/** Synchronous work in 30 ms chunks (like training steps), counting chunks run after `fast` returned but before its entry is on disk. */
export const busy = Stage.make({
  name: "test/hardening-busy",
  config: Schema.Struct({}),
  inputs: {},
  output: Note,
  run: () =>
    Effect.gen(function* () {
      for (let i = 0; i < 40; i++) {
        const until = Date.now() + 30
        while (Date.now() < until) {
          // a training step holding the thread
        }
        probe.chunks++
        if (probe.fastDone && !fs.existsSync(probe.entryFile)) probe.stalls++
        yield* Effect.sleep("1 millis")
      }
      return "done"
    }),
})

export const summarized = Stage.make({
  name: "test/hardening-summarized",
  config: Schema.Struct({}),
  inputs: {},
  output: Note,
  run: () => Effect.succeed("the table"),
  summary: (v) => `summary: ${v}`,
})
