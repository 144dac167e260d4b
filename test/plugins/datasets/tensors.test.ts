import "@tensorflow/tfjs-backend-cpu"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { imagesToTensor, labelsToTensor, oneHotLabels } from "../../../plugins/datasets/tensors.ts"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

describe("batch -> tensors", () => {
  const data = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i)
  const batch = { data, shape: [2, 3, 2, 2] as const }

  it("keeps NCHW or transposes to NHWC, without leaking tensors", () => {
    const before = tf.memory().numTensors
    const nchw = imagesToTensor(batch)
    expect(nchw.shape).toEqual([2, 3, 2, 2])
    expect(Array.from(nchw.dataSync())).toEqual(Array.from(data))
    const nhwc = imagesToTensor(batch, "NHWC")
    expect(nhwc.shape).toEqual([2, 2, 2, 3])
    // element (n=1, h=0, w=1, c=2) = data[((1*3+2)*2+0)*2+1]
    expect(nhwc.arraySync()[1]![0]![1]![2]).toBe(data[((1 * 3 + 2) * 2 + 0) * 2 + 1])
    const labels = labelsToTensor(Int32Array.from([2, 0]))
    expect(labels.dtype).toBe("int32")
    const oh = oneHotLabels(Int32Array.from([2, 0]), 3)
    expect(oh.arraySync()).toEqual([[0, 0, 1], [1, 0, 0]])
    tf.dispose([nchw, nhwc, labels, oh])
    expect(tf.memory().numTensors).toBe(before)
  })
})
