/**
 * The PyTorch reference fixture (test/fixtures/vit/generate.py): a random
 * timm-math ViT with vitMicroPatch7_28's shape, its inputs, outputs, attention
 * maps and parameter gradients.
 */
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { floatState, readSafetensors, type FloatTensor } from "../../../plugins/checkpoints/index.ts"

export const fixturePath = fileURLToPath(new URL("../../fixtures/vit/micro.safetensors", import.meta.url))

export const loadFixture = (): Promise<ReadonlyMap<string, FloatTensor>> =>
  Effect.runPromise(Effect.map(readSafetensors(fixturePath), floatState))

export const need = (m: ReadonlyMap<string, FloatTensor>, key: string): FloatTensor => {
  const t = m.get(key)
  if (t === undefined) throw new Error(`fixture has no tensor ${key}`)
  return t
}

/** max |a - b| / max |b|: the error relative to the reference's scale. */
export const relError = (actual: ArrayLike<number>, expected: ArrayLike<number>): number => {
  if (actual.length !== expected.length) return Infinity
  let num = 0
  let den = 0
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? NaN
    const e = expected[i] ?? NaN
    num = Math.max(num, Math.abs(a - e))
    den = Math.max(den, Math.abs(e))
    if (Number.isNaN(a) || Number.isNaN(e)) return Infinity
  }
  return den === 0 ? num : num / den
}
