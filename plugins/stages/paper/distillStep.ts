/**
 * The tensor side of `paper/joint-distill` (sec. 3.4): each model's outputs
 * for the composed loss (logits and the distilled layer's attention maps),
 * and one step of eq. 4,
 *
 *   L = CE_S + CE_CL + CE_MIM + L_KD + L_Attn,
 *
 * differentiated once with respect to the student's parameters and each
 * teacher's trainable (Partial-1) parameters together. The KD terms (eq. 1,
 * eq. 3) read teacher outputs through a stop-gradient, so a teacher's
 * gradient is that of its own CE and the student's that of
 * CE_S + L_KD + L_Attn; one AdamW per model then applies them.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Data } from "effect"
import type { Batch, ImageBatch } from "../../datasets/loader.ts"
import { labelsToTensor } from "../../datasets/tensors.ts"
import type { CompositeLoss } from "../../losses/compose.ts"
import type { ModelOutputs } from "../../losses/loss.ts"
import type { VitConfig } from "../../models/vit/config.ts"
import { forward, forwardHead, forwardIntermediates } from "../../models/vit/forward.ts"
import type { VitModel } from "../../models/vit/model.ts"
import type { TeacherInfo } from "../../teachers/artifact.ts"
import type { AdamW } from "../../training/adamw.ts"
import { teacherInput } from "../../teachers/inputs.ts"

/** Tokens a ViT sees: the class token plus (imgSize / patchSize)² patches. */
export const tokenCount = (c: Pick<VitConfig, "imgSize" | "patchSize">): number => 1 + (c.imgSize / c.patchSize) ** 2

/**
 * Eq. 3 matches attention maps [B, H, T, T] of student and teacher row by
 * row, which needs the same token count T: a teacher whose patch size or
 * input size gives another T cannot be distilled into this student.
 */
export class DistillTokenMismatch extends Data.TaggedError("DistillTokenMismatch")<{
  readonly stage: string
  /** `cl` or `mim`. */
  readonly role: string
  readonly teacher: string
  readonly teacherConfig: Pick<VitConfig, "imgSize" | "patchSize">
  readonly student: string
  readonly studentConfig: Pick<VitConfig, "imgSize" | "patchSize">
}> {
  override get message(): string {
    const t = this.teacherConfig
    const s = this.studentConfig
    return `stage ${this.stage}: ${this.role} teacher ${this.teacher} sees ${tokenCount(t)} tokens ` +
      `(${t.imgSize} px, patch ${t.patchSize}) but student ${this.student} sees ${tokenCount(s)} ` +
      `(${s.imgSize} px, patch ${s.patchSize}); eq. 3 needs the same token count: give the student the teacher's patch size and input size`
  }
}

/** One model of the joint step: its role in the loss, its input convention, the layer it exposes, what trains. */
export interface JointMember {
  /** Loss role: `student`, `cl`, `mim`, `teacher`. */
  readonly role: string
  readonly model: VitModel
  /** Input size, channels and normalization (`teacherInput`). */
  readonly info: TeacherInfo
  /** Block whose attention maps the loss reads (0-based); `undefined`: logits only (no attention term reads this model). */
  readonly layer: number | undefined
  /** Trainable parameters by timm name (empty: frozen). */
  readonly params: ReadonlyMap<string, tf.Variable>
  readonly optimizer: AdamW
}

/** Logits and the distilled layer's attention [B, H, T, T] of `m` on a batch (logits only without a layer); call inside `tf.tidy`. */
export const memberOutputs = (m: JointMember, images: ImageBatch): ModelOutputs => {
  let x = teacherInput(images, m.info)
  const size = m.info.config.imgSize
  if (x.shape[2] !== size || x.shape[3] !== size) {
    x = tf.transpose(tf.image.resizeBilinear(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, [size, size]), [0, 3, 1, 2])
  }
  if (m.layer === undefined) return { logits: forward(m.model, x) }
  const out = forwardIntermediates(m.model, x, { indices: [m.layer], attention: true })
  const attention = out.intermediates[0]?.attn
  if (attention === undefined) throw new TypeError(`${m.role}: block ${m.layer} returned no attention map`)
  return { logits: forwardHead(m.model, out.features), attention }
}

/** Every component name the loss logs on a batch, in order (`total` first); a forward pass only, no update. */
export const componentNames = (members: ReadonlyArray<JointMember>, loss: CompositeLoss, batch: Pick<Batch, "images" | "labels">): ReadonlyArray<string> =>
  tf.tidy(() => {
    const outputs = Object.fromEntries(members.map((m) => [m.role, memberOutputs(m, batch.images)]))
    return ["total", ...Object.keys(loss.compute({ labels: labelsToTensor(batch.labels), outputs }).components)]
  })

/**
 * One step of eq. 4: the composed loss, its gradient with respect to every
 * member's trainable parameters in one backward pass, one AdamW update per
 * member. Returns the values of `names` (`total` first). Throws on a tensor
 * failure and on the loss's typed errors (shapes, labels).
 */
export const jointStep = (
  members: ReadonlyArray<JointMember>,
  loss: CompositeLoss,
  names: ReadonlyArray<string>,
  batch: Pick<Batch, "images" | "labels">,
  lr: number,
  weightDecay: number,
): ReadonlyArray<number> => {
  let packed: tf.Tensor | undefined
  try {
    tf.tidy(() => {
      const labels = labelsToTensor(batch.labels)
      const vars = members.flatMap((m) => [...m.params.values()])
      const { grads } = tf.variableGrads(() => {
        const outputs = Object.fromEntries(members.map((m) => [m.role, memberOutputs(m, batch.images)]))
        const r = loss.compute({ labels, outputs })
        const parts = names.map((n) => (n === "total" ? r.total : r.components[n]))
        if (parts.some((p) => p === undefined)) throw new TypeError(`loss components changed: expected ${names.join(", ")}, got total, ${Object.keys(r.components).join(", ")}`)
        // `variableGrads` disposes everything but its result: keep the logged values in one tensor.
        packed = tf.keep(tf.stack(parts.filter((p): p is tf.Scalar => p !== undefined)))
        return r.total
      }, vars)
      for (const m of members) {
        if (m.params.size === 0) continue
        const byName = new Map([...m.params].flatMap(([name, v]) => {
          const g = grads[v.name]
          return g === undefined ? [] : [[name, g] as const]
        }))
        m.optimizer.step(byName, lr, weightDecay)
      }
    })
    return packed === undefined ? [] : Array.from(packed.dataSync())
  } finally {
    packed?.dispose()
  }
}
