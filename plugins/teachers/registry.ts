/**
 * The teacher registry: teacher definitions (`defineTeacher`, dsl/Teacher.ts)
 * by name, a {@link Registry}. A duplicate name is an error, never a silent
 * overwrite; an unknown name fails with the known names and "did you mean".
 * A user's teacher is registered from the user's own file, with no change to
 * this library:
 *
 * @example
 * Effect.runSync(teachers.register(myTeacher.name, myTeacher))
 */
import { Registry } from "../../dsl/Registry.ts"
import type { TeacherDefinition } from "../../dsl/Teacher.ts"

export type TeacherRegistry = Registry<TeacherDefinition>

/** An empty teacher registry (the built-in one is `teachers`). */
export const makeTeacherRegistry = (): TeacherRegistry => new Registry<TeacherDefinition>("teacher")
