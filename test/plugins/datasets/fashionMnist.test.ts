/**
 * The IDX reader against an independent reading of the real Fashion-MNIST
 * files (test/fixtures/datasets/fmnist_reference.py, standard-library Python).
 * Skipped, with a printed reason, only when the files are absent; CI installs
 * `dataset-fashion-mnist`.
 */
import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import reference from "../../fixtures/datasets/fmnist_reference.json" with { type: "json" }
import { sha256File } from "../../../runtime/cache/fileIdentity.ts"
import { makeDefaultRegistry } from "../../../plugins/datasets/builtins.ts"
import { countPerClass, pixelSumPerClass } from "../../../plugins/datasets/ImageSet.ts"
import { DEFAULT_DATA_ROOT } from "../../../plugins/datasets/registry.ts"
import { run } from "./helpers.ts"

const dir = `${DEFAULT_DATA_ROOT}/fashion-mnist`
const present = fs.existsSync(`${dir}/train-images-idx3-ubyte.gz`) && fs.existsSync(`${dir}/t10k-labels-idx1-ubyte.gz`)
if (!present) console.warn(`SKIP fashionMnist.test.ts: ${dir} is absent (apt-get install dataset-fashion-mnist to run it)`)

describe.skipIf(!present)("Fashion-MNIST from /usr/share/datasets", () => {
  const registry = makeDefaultRegistry()
  it.each(["train", "test"] as const)("%s split agrees with the independent reference", async (split) => {
    const ref = reference.splits[split]
    const spec = await run(registry.resolve("fashion-mnist", { split, dataDir: DEFAULT_DATA_ROOT }))
    const [images, labels] = await run(registry.files(spec))
    expect(await sha256File(images!)).toBe(ref.sha256GzipImages) // the same files the reference read
    expect(await sha256File(labels!)).toBe(ref.sha256GzipLabels)
    const set = await run(registry.load(spec))
    expect(set.count).toBe(ref.count)
    expect([set.height, set.width]).toEqual([ref.rows, ref.cols])
    expect(countPerClass(set)).toEqual(ref.countPerClass)
    expect(countPerClass(set)).toEqual(new Array(10).fill(split === "train" ? 6000 : 1000))
    expect(pixelSumPerClass(set)).toEqual(ref.pixelSumPerClass)
    expect(Array.from(set.labels.subarray(0, 20))).toEqual(ref.firstLabels)
  })
})
