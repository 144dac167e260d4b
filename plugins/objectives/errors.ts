/**
 * Failure modes of the SSL objectives (DINO, MAE): one tagged error per mode,
 * the data in fields, a message that names the value and what was expected.
 * The tensor functions throw them (they are `Error`s); stage code turns them
 * into typed failures with `Effect.try`, or calls the `check*` functions first.
 */
import { Data } from "effect"

const fmt = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** A tensor whose shape does not fit the op (names both the shape got and the one expected). */
export class ShapeMismatch extends Data.TaggedError("ShapeMismatch")<{
  /** The op, e.g. `dinoLoss`. */
  readonly op: string
  /** The argument, e.g. `teacherOutput`. */
  readonly field: string
  readonly shape: ReadonlyArray<number>
  /** The expected shape in words, with the other operands' shapes where they matter. */
  readonly expected: string
}> {
  override get message(): string {
    return `${this.op}: ${this.field} has shape ${fmt(this.shape)}; expected ${this.expected}`
  }
}

/** A hyper-parameter outside its domain (a temperature <= 0, a momentum outside [0, 1], ...). */
export class InvalidObjectiveConfig extends Data.TaggedError("InvalidObjectiveConfig")<{
  readonly op: string
  readonly field: string
  readonly value: number
  readonly expected: string
}> {
  override get message(): string {
    return `${this.op}: ${this.field} = ${this.value} is invalid; expected ${this.expected}`
  }
}

/** A schedule was asked for a step it does not cover. */
export class ScheduleOutOfRange extends Data.TaggedError("ScheduleOutOfRange")<{
  readonly schedule: string
  readonly step: number
  readonly length: number
}> {
  override get message(): string {
    return `${this.schedule} schedule: step ${this.step} is outside 0..${this.length - 1} (the schedule has ${this.length} steps)`
  }
}

/** Shape as text, for `expected` strings. */
export const shapeText = fmt

/** A parameter present on one side of a teacher/student pair and absent on the other. */
export class UnmatchedParameter extends Data.TaggedError("UnmatchedParameter")<{
  readonly op: string
  readonly name: string
  /** The side that lacks it. */
  readonly missingIn: "teacher" | "student"
}> {
  override get message(): string {
    return `${this.op}: parameter "${this.name}" is missing in the ${this.missingIn}; teacher and student must have the same parameter names`
  }
}
