/**
 * `paper/joint-teacher`: one teacher as it ended a joint run (sec. 3.4,
 * eq. 4: its Partial-1 parameters trained on its own CE beside the student),
 * read out of the run's `DistilledStudent` (`trainedTeachers`, by loss role)
 * as an `AdaptedTeacher` of mode `joint partial-1`, so that
 * `paper/evaluate-teacher` scores its test top-1 as it scores the teachers
 * of Table 1.
 */
import { Effect, Schema } from "effect"
import { Stage } from "../../../dsl/index.ts"
import { StageConfigError } from "../../training/errors.ts"
import { AdaptedTeacher } from "./artifact.ts"
import { DistilledStudent } from "./distilledArtifact.ts"

const NAME = "paper/joint-teacher"

export const jointTeacher = Stage.make({
  name: NAME,
  description: "a teacher as it ended a joint distillation run (its Partial-1 training inside eq. 4), as an AdaptedTeacher",
  config: Schema.Struct({
    /** The teacher's loss role in the run (`cl`, `mim`, ... as its `teachers` table names it). */
    role: Schema.String,
  }),
  inputs: { model: DistilledStudent },
  output: AdaptedTeacher,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const trained = inputs.model.trainedTeachers ?? []
      const found = trained.find((t) => t.role === config.role)
      if (found === undefined) {
        const roles = trained.map((t) => t.role).join(", ") || "none (not a joint run, or every teacher frozen)"
        return yield* new StageConfigError({ stage: NAME, field: "role", value: JSON.stringify(config.role), expected: `a teacher the run trained: ${roles}` })
      }
      return found.value
    }),
})
