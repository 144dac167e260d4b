/**
 * AdamW (Loshchilov & Hutter 2019, decoupled weight decay; PyTorch's
 * `torch.optim.AdamW`), the optimizer of both DINO (Caron et al. 2021, sec.
 * 3.1 / appendix) and MAE (He et al. 2022, appendix A.1). One step with
 * learning rate η and weight decay λ at step t:
 *
 *   θ ← θ (1 - η λ)                       (only weights: rank >= 2, not `.bias`)
 *   m ← β1 m + (1 - β1) g;   v ← β2 v + (1 - β2) g²
 *   θ ← θ - η (m / (1 - β1^t)) / (√(v / (1 - β2^t)) + ε)
 *
 * η and λ are arguments of every step (schedules live in the stage config),
 * and the moments are variables exposed by name, so a resumed run continues
 * with the same optimizer state. As in PyTorch, t counts the steps of each
 * parameter: a parameter without a gradient (DINO's frozen last layer,
 * `grad = None`) is skipped and its t does not advance, so its first real
 * update gets the full bias correction.
 *
 * On the native backend each parameter's update is one fused kernel (the
 * same formulas and operation order in float32) instead of ~12 tfjs ops.
 */
import * as tf from "@tensorflow/tfjs-core"
import { fusedKernelNames, hasFusedKernel, runKernel } from "../../runtime/backend/kernels.ts"

export interface AdamWOptions {
  readonly beta1?: number
  readonly beta2?: number
  readonly eps?: number
}

/** Whether a parameter is weight-decayed (DINO's `get_params_groups`: not biases, not 1-D tensors). */
export const decays = (name: string, shape: ReadonlyArray<number>): boolean => shape.length >= 2 && !name.endsWith(".bias")

export class AdamW {
  readonly #params: ReadonlyMap<string, tf.Variable>
  readonly #m = new Map<string, tf.Variable>()
  readonly #v = new Map<string, tf.Variable>()
  readonly #step: tf.Variable
  /** Per-parameter step counts t, in `#params` order. */
  readonly #steps: tf.Variable
  readonly #b1: number
  readonly #b2: number
  readonly #eps: number

  constructor(params: ReadonlyMap<string, tf.Variable>, o: AdamWOptions = {}) {
    this.#params = params
    this.#b1 = o.beta1 ?? 0.9
    this.#b2 = o.beta2 ?? 0.999
    this.#eps = o.eps ?? 1e-8
    for (const [name, p] of params) {
      this.#m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)))
      this.#v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)))
    }
    this.#step = tf.tidy(() => tf.variable(tf.scalar(0), false))
    this.#steps = tf.tidy(() => tf.variable(tf.zeros([params.size]), false))
  }

  /** The optimizer's state variables by name (`adamw.m.<param>`, `adamw.v.<param>`, `adamw.step`, `adamw.steps`), for checkpoints. */
  state(): ReadonlyMap<string, tf.Variable> {
    const out = new Map<string, tf.Variable>([["adamw.step", this.#step], ["adamw.steps", this.#steps]])
    for (const [n, m] of this.#m) out.set(`adamw.m.${n}`, m)
    for (const [n, v] of this.#v) out.set(`adamw.v.${n}`, v)
    return out
  }

  /** One update from `grads` (by parameter name; a missing gradient leaves its parameter and moments unchanged). */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number, weightDecay: number): void {
    const steps = Float32Array.from(this.#steps.dataSync())
    const t = (this.#step.dataSync()[0] ?? 0) + 1
    const fused = hasFusedKernel(fusedKernelNames.adamw)
    tf.tidy(() => {
      let i = -1
      for (const [name, p] of this.#params) {
        i++
        const g = grads.get(name)
        const m = this.#m.get(name)
        const v = this.#v.get(name)
        if (g === undefined || m === undefined || v === undefined) continue
        const ti = (steps[i] ?? 0) + 1
        steps[i] = ti
        const c1 = 1 - this.#b1 ** ti
        const c2 = 1 - this.#b2 ** ti
        if (fused && p.dtype === "float32" && g.dtype === "float32" && p.size > 0) {
          const wd = decays(name, p.shape) && weightDecay > 0 ? weightDecay : 0
          const [np, nm, nv] = runKernel(fusedKernelNames.adamw, { p, g, m, v }, { beta1: this.#b1, beta2: this.#b2, eps: this.#eps, lr, c1, c2, weightDecay: wd })
          m.assign(nm)
          v.assign(nv)
          p.assign(np)
          continue
        }
        m.assign(tf.add(tf.mul(m, this.#b1), tf.mul(g, 1 - this.#b1)))
        v.assign(tf.add(tf.mul(v, this.#b2), tf.mul(tf.square(g), 1 - this.#b2)))
        const decayed = decays(name, p.shape) && weightDecay > 0 ? tf.mul(p, 1 - lr * weightDecay) : p
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.#eps))
        p.assign(tf.sub(decayed, tf.mul(update, lr)))
      }
      this.#step.assign(tf.scalar(t))
      this.#steps.assign(tf.tensor1d(steps))
    })
  }

  dispose(): void {
    for (const x of [...this.#m.values(), ...this.#v.values(), this.#step, this.#steps]) x.dispose()
  }
}
