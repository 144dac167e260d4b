/**
 * The teacher registry: teacher definitions (`defineTeacher`, dsl/Teacher.ts)
 * by name. A duplicate name is an error, never a silent overwrite; an unknown
 * name fails with the known names and "did you mean". A user's teacher is
 * registered from the user's own file, with no change to this library:
 *
 * @example
 * Effect.runSync(teachers.register(myTeacher))
 */
import { Effect } from "effect"
import type { TeacherDefinition } from "../../dsl/Teacher.ts"
import { suggest } from "../../dsl/Names.ts"
import { DuplicateTeacher, UnknownTeacher } from "./errors.ts"

export class TeacherRegistry {
  readonly #entries = new Map<string, TeacherDefinition>()

  /** Adds a teacher; fails on a taken name. */
  register(teacher: TeacherDefinition): Effect.Effect<void, DuplicateTeacher> {
    return Effect.suspend(() => {
      if (this.#entries.has(teacher.name)) return Effect.fail(new DuplicateTeacher({ name: teacher.name }))
      this.#entries.set(teacher.name, teacher)
      return Effect.void
    })
  }

  /** Registered names, sorted. */
  names(): ReadonlyArray<string> {
    return [...this.#entries.keys()].sort()
  }

  /** Every definition, by name. */
  list(): ReadonlyArray<TeacherDefinition> {
    return this.names().flatMap((n) => {
      const t = this.#entries.get(n)
      return t === undefined ? [] : [t]
    })
  }

  lookup(name: string): Effect.Effect<TeacherDefinition, UnknownTeacher> {
    return Effect.suspend(() => {
      const t = this.#entries.get(name)
      if (t !== undefined) return Effect.succeed(t)
      const known = this.names()
      return Effect.fail(new UnknownTeacher({ name, known, suggestions: suggest(name, known) }))
    })
  }
}
