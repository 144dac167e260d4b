/**
 * The teacher's exponential moving average of the student (Caron et al.
 * 2021, sec. 3.1, "teacher network": θ_t <- λ θ_t + (1 - λ) θ_s, λ on the
 * cosine schedule 0.996 -> 1; `main_dino.py`:
 * `param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)`).
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvalidObjectiveConfig, ShapeMismatch, shapeText, UnmatchedParameter } from "./errors.ts"

/**
 * Why the two parameter sets cannot be paired, or `undefined`: the same
 * names on both sides, the same shape per name.
 */
export const checkEmaPair = (
  teacher: ReadonlyMap<string, tf.Tensor>,
  student: ReadonlyMap<string, tf.Tensor>,
): UnmatchedParameter | ShapeMismatch | undefined => {
  const op = "emaUpdate"
  for (const [name, t] of teacher) {
    const s = student.get(name)
    if (s === undefined) return new UnmatchedParameter({ op, name, missingIn: "student" })
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
      return new ShapeMismatch({ op, field: `student "${name}"`, shape: s.shape, expected: `${shapeText(t.shape)} (the teacher's "${name}")` })
    }
  }
  for (const name of student.keys()) if (!teacher.has(name)) return new UnmatchedParameter({ op, name, missingIn: "teacher" })
  return undefined
}

/**
 * In place: every teacher variable becomes `m · teacher + (1 - m) · student`.
 * No gradient is recorded. Throws {@link UnmatchedParameter},
 * {@link ShapeMismatch} or {@link InvalidObjectiveConfig} before changing anything.
 */
export const emaUpdate = (
  teacher: ReadonlyMap<string, tf.Variable>,
  student: ReadonlyMap<string, tf.Tensor>,
  momentum: number,
): void => {
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new InvalidObjectiveConfig({ op: "emaUpdate", field: "momentum", value: momentum, expected: "a number in [0, 1]" })
  }
  const bad = checkEmaPair(teacher, student)
  if (bad !== undefined) throw bad
  tf.tidy(() => {
    for (const [name, t] of teacher) {
      const s = student.get(name)
      if (s !== undefined) t.assign(tf.add(tf.mul(t, momentum), tf.mul(s, 1 - momentum)))
    }
  })
}
