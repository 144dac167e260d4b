/**
 * Every kernel the native backend overrides, against tfjs-backend-cpu on the
 * same inputs: BatchMatMul in all four transpose combinations (rank 2, 3, 4,
 * broadcast batch), the broadcasting binary ops, comparisons, the unary ops (special
 * values included), softmax, reductions over leading / trailing / middle /
 * all axes, transposes, SplitV, Concat, strided Slice and PadV2; int32 inputs going to the cpu
 * kernels; no tensor leaks; and the buffer pool never recycling a buffer that
 * `dataSync()` handed out or a cpu kernel made a view of.
 * Tolerance: 1e-5 of each output's scale in f32 (oneDNN sums in another order).
 */
import * as tf from "@tensorflow/tfjs-core"
import { afterAll, expect, it } from "vitest"
import { nativeKernelNames } from "../../../runtime/backend/native/NativeBackend.ts"
import { defaultBackend } from "./allBackends.ts"
import { describeNative, input, maxRelDiff, onBoth, useBackend } from "./nativeHarness.ts"

const tol = 1e-5

const expectSame = async (
  inputs: Parameters<typeof onBoth>[0],
  op: Parameters<typeof onBoth>[1],
  label: string,
  tolerance = tol,
): Promise<void> => {
  const { native, cpu } = await onBoth(inputs, op)
  expect(native.length, label).toBe(cpu.length)
  native.forEach((o, i) => {
    expect(o.shape, label).toEqual(cpu[i]?.shape)
    expect(maxRelDiff(o.values, cpu[i]?.values ?? []), label).toBeLessThanOrEqual(tolerance)
  })
}

describeNative("native kernels vs tfjs-backend-cpu", () => {
  afterAll(async () => {
    const { selectBackend } = await import("../../../runtime/backend/TensorBackend.ts")
    const { Effect } = await import("effect")
    await Effect.runPromise(selectBackend({ flag: defaultBackend.name }))
  })

  it("overrides the kernels the ViT profile is made of", () => {
    expect(nativeKernelNames()).toEqual(expect.arrayContaining(["BatchMatMul", "Add", "Multiply", "Erf", "Softmax", "Sum", "Transpose", "SplitV", "Concat"]))
  })

  it("BatchMatMul: every transpose combination, rank 2/3/4, broadcast batch", async () => {
    const cases: Array<[Array<number>, Array<number>, boolean, boolean]> = [
      [[7, 5], [5, 3], false, false], [[5, 7], [5, 3], true, false], [[7, 5], [3, 5], false, true], [[5, 7], [3, 5], true, true],
      [[4, 6, 9], [4, 9, 5], false, false], [[4, 9, 6], [4, 5, 9], true, true], [[2, 3, 6, 8], [2, 3, 8, 4], false, false],
      [[2, 3, 8, 6], [2, 3, 8, 4], true, false], [[2, 3, 6, 8], [8, 4], false, false], [[6, 8], [3, 8, 4], false, false],
      [[1, 40, 64], [1, 64, 50], false, false], [[96, 50, 64], [96, 50, 64], false, true], [[200, 192], [192, 300], false, false],
    ]
    for (const [sa, sb, ta, tb] of cases) {
      await expectSame([input(sa, 1), input(sb, 2)], (a, b) => tf.matMul(a!, b!, ta, tb), `${sa} x ${sb} ${ta} ${tb}`)
    }
  })

  it("binary ops with every broadcast pattern", async () => {
    const ops: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
      add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, squaredDifference: tf.squaredDifference, maximum: tf.maximum, minimum: tf.minimum,
    }
    const shapes: Array<[Array<number>, Array<number>]> = [
      [[3, 5], [3, 5]], [[3, 5], []], [[], [4]], [[2, 3, 5], [5]], [[2, 3, 5], [2, 3, 1]], [[2, 1, 5], [2, 4, 5]], [[4, 1], [1, 6]], [[2, 3, 4, 5], [3, 1, 5]],
    ]
    for (const [name, f] of Object.entries(ops)) {
      for (const [sa, sb] of shapes) await expectSame([input(sa, 3), input(sb, 4)], (a, b) => f(a!, b!), `${name} ${sa} ${sb}`)
    }
  })

  it("comparisons (bool outputs) on equal shapes and with a scalar on either side, ties and NaN included; other broadcasts on the cpu kernel", async () => {
    const ops: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
      greater: tf.greater, greaterEqual: tf.greaterEqual, less: tf.less, lessEqual: tf.lessEqual, equal: tf.equal, notEqual: tf.notEqual,
    }
    const a = new Float32Array([0, 1e-12, 1e-13, 0.5, -1, NaN, Infinity, 2, 1e-12])
    const b = new Float32Array([0, 1e-12, 1e-12, 0.25, -1, 0, Infinity, NaN, 3])
    const eps = new Float32Array([1e-12])
    for (const [name, f] of Object.entries(ops)) {
      for (const [x, y] of [[{ shape: [3, 3], values: a }, { shape: [3, 3], values: b }], [{ shape: [3, 3], values: a }, { shape: [], values: eps }], [{ shape: [], values: eps }, { shape: [9], values: b }], [{ shape: [3, 3], values: a }, { shape: [1, 3], values: b.subarray(0, 3) }]] as const) {
        const { native, cpu } = await onBoth([x, y], (p, q) => f(p!, q!))
        expect(native[0]?.shape, `${name} ${x.shape} ${y.shape}`).toEqual(cpu[0]?.shape)
        expect(Array.from(native[0]?.values ?? []), `${name} ${x.shape} ${y.shape}`).toEqual(Array.from(cpu[0]?.values ?? []))
      }
    }
    expect(nativeKernelNames()).toEqual(expect.arrayContaining(["Greater", "GreaterEqual", "Less", "LessEqual", "Equal", "NotEqual"]))
  })

  it("Pow by a scalar exponent (2, 1, 0.5, -1, 3, 0) on special values, and tf.norm with its gradient", async () => {
    const special = new Float32Array([0, -0, 1e-30, 0.5, -0.5, 3, -3, 1e20, NaN, Infinity, -Infinity, 2])
    for (const e of [2, 1, 0.5, -1, 3, 0]) {
      const { native, cpu } = await onBoth([{ shape: [3, 4], values: special }, { shape: [], values: new Float32Array([e]) }], (x, y) => tf.pow(x!, y!))
      expect(Array.from(native[0]?.values ?? []), `pow ${e}`).toEqual(Array.from(cpu[0]?.values ?? []))
    }
    await expectSame([input([64, 32], 8)], (x) => [tf.norm(x!, "euclidean", 1, true), tf.grad((v: tf.Tensor) => tf.sum(tf.norm(v, "euclidean", 1)))(x!)], "norm and its gradient")
    expect(nativeKernelNames()).toContain("Pow")
  })

  it("unary ops, NaN, infinities and extremes included", async () => {
    const special = new Float32Array([0, -0, 1e-30, -1e-30, 0.5, -0.5, 3, -3, 20, -20, 88, 89, -87, -104, -1e9, NaN, Infinity, -Infinity])
    const positive = special.map(Math.abs)
    const ops: Record<string, [(x: tf.Tensor) => tf.Tensor, Float32Array]> = {
      erf: [tf.erf, special], exp: [tf.exp, special], neg: [tf.neg, special], square: [tf.square, special], abs: [tf.abs, special],
      tanh: [tf.tanh, special], sigmoid: [tf.sigmoid, special], relu: [tf.relu, special], reciprocal: [tf.reciprocal, special],
      rsqrt: [tf.rsqrt, positive], sqrt: [tf.sqrt, positive], log: [tf.log, positive],
    }
    for (const [name, [f, values]] of Object.entries(ops)) {
      await expectSame([{ shape: [values.length], values }], (x) => f(x!), `${name} special`)
      await expectSame([input([3, 7, 11], 5)], (x) => f(tf.abs(x!)), `${name} random`, name === "exp" || name === "erf" || name === "sigmoid" ? 3e-7 * 4 : tol)
    }
  })

  it("softmax over the last axis, with -inf entries", async () => {
    await expectSame([input([2, 3, 50, 50], 6)], (x) => tf.softmax(tf.mul(x!, 10)), "softmax")
    await expectSame([{ shape: [2, 3], values: new Float32Array([-Infinity, 0, 1, 5, -Infinity, 5]) }], (x) => tf.softmax(x!), "softmax -inf")
  })

  it("Sum, Mean, Max, Min over leading, trailing, middle and all axes, with and without keepDims", async () => {
    const fs = { sum: tf.sum, mean: tf.mean, max: tf.max, min: tf.min }
    const axes: Array<number | Array<number> | undefined> = [-1, 0, 1, [1, 2], [0, 1], undefined, [0, 2]]
    for (const [name, f] of Object.entries(fs)) {
      for (const axis of axes) {
        for (const keep of [false, true]) await expectSame([input([4, 5, 6], 7)], (x) => f(x!, axis, keep), `${name} ${String(axis)} ${keep}`)
      }
    }
  })

  it("Transpose by every permutation of a rank-4 tensor and the 2-D case", async () => {
    const perms = [[0, 1, 2, 3], [0, 2, 1, 3], [0, 2, 3, 1], [3, 2, 1, 0], [1, 0, 3, 2], [0, 1, 3, 2], [2, 0, 3, 1]]
    for (const perm of perms) await expectSame([input([3, 4, 5, 6], 8)], (x) => tf.transpose(x!, perm), `transpose ${perm}`)
    await expectSame([input([37, 53], 9)], (x) => tf.transpose(x!), "transpose 2-D")
  })

  it("SplitV and Concat along every axis", async () => {
    for (const axis of [0, 1, 2, -1]) {
      await expectSame([input([4, 6, 6], 10)], (x) => tf.split(x!, 2, axis), `split ${axis}`)
      await expectSame([input([6, 6, 6], 10)], (x) => tf.split(x!, [1, 2, 3], axis), `split sizes ${axis}`)
      await expectSame([input([2, 3, 4], 11), input([2, 3, 4], 12)], (a, b) => tf.concat([a!, b!], axis), `concat ${axis}`)
    }
  })

  it("strided Slice and PadV2 as block copies agree exactly (the ViT class-token slice and its gradient included)", async () => {
    await expectSame([input([32, 50, 19], 13)], (x) => tf.slice(x!, [0, 0, 0], [32, 1, 19]), "class-token slice", 0)
    await expectSame([input([5, 6, 7], 14)], (x) => tf.slice(x!, [1, 2, 3], [3, 2, 4]), "slice inner", 0)
    await expectSame([input([5, 6, 7], 14)], (x) => tf.slice(x!, [0, 2, 0], [5, 3, 7]), "slice middle", 0)
    await expectSame([input([5, 6, 7], 14)], (x) => tf.slice(x!, [2, 0, 0], [2, 6, 7]), "slice contiguous (cpu view)", 0)
    await expectSame([input([4, 9], 15)], (x) => tf.slice(x!, [0, 8], [4, 1]), "slice last column", 0)
    await expectSame([input([32, 1, 19], 16)], (x) => tf.pad(x!, [[0, 0], [0, 49], [0, 0]]), "class-token pad", 0)
    await expectSame([input([3, 4, 5], 17)], (x) => tf.pad(x!, [[1, 2], [0, 1], [3, 0]], 1.5), "pad every axis", 0)
    await expectSame([input([3, 4, 5], 17)], (x) => tf.pad(x!, [[1, 0], [0, 0], [0, 0]]), "pad first axis", 0)
    await expectSame([input([3, 4, 5], 17)], (x) => tf.pad(x!, [[0, 0], [0, 0], [0, 0]]), "pad none", 0)
    await expectSame([input([6], 18)], (x) => tf.pad(x!, [[2, 3]], -1), "pad 1-D", 0)
  })

  it("int32 inputs run on the cpu kernels and agree exactly", async () => {
    const ints = { shape: [2, 3], values: new Int32Array([1, -2, 3, 4, 5, -6]) }
    await expectSame([ints, ints], (a, b) => tf.add(a!, b!), "add int32", 0)
    await expectSame([ints], (x) => tf.sum(x!, 1), "sum int32", 0)
    await expectSame([ints], (x) => tf.transpose(x!), "transpose int32", 0)
  })

  it("leaks no tensors, and never recycles a buffer that dataSync() or a cpu view handed out", async () => {
    await useBackend("native")
    const before = tf.memory().numTensors
    const big = [64, 128]
    const held = tf.tidy(() => tf.add(tf.ones(big), 1).dataSync()) // the backend's own array, its tensor disposed
    const view = tf.tidy(() => {
      const x = tf.mul(tf.ones(big), 3)
      return tf.keep(tf.slice(x, [0, 0], [32, 128])) // tfjs-backend-cpu returns a subarray of x's pooled buffer
    })
    for (let i = 0; i < 5; i++) tf.tidy(() => tf.mul(tf.ones(big), 7 + i).dataSync())
    expect(held.every((v) => v === 2)).toBe(true)
    expect(view.dataSync().every((v) => v === 3)).toBe(true)
    view.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
