import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { command, parseDataArgs } from "../../../plugins/cli/data.ts"
import { failureOf, run, tempDir, writeIdx } from "./helpers.ts"

const capture = () => {
  const out: Array<string> = []
  const err: Array<string> = []
  return { io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), cwd: process.cwd(), isTTY: false }, out, err }
}

const tinyRoot = () => {
  const root = tempDir("cli")
  const dir = path.join(root, "fashion-mnist")
  fs.mkdirSync(dir)
  writeIdx(dir, { count: 30, size: 28, classes: 10 })
  return { root, dir }
}

describe("ssl-kd data", () => {
  it("inspect --json reports size, count per class, shape and identity", async () => {
    const { root } = tinyRoot()
    const c = capture()
    expect(await run(command.run(["inspect", "fashion-mnist", "--data-dir", root, "--json"], c.io))).toBe(0)
    const report = JSON.parse(c.out.join("\n"))
    expect(report).toMatchObject({ dataset: "fashion-mnist", split: "train", count: 30, imageShape: [1, 28, 28], dataRoot: { dataRootSource: "option" } })
    expect(report.classes.map((k: { count: number }) => k.count).reduce((a: number, b: number) => a + b, 0)).toBe(30)
    expect(report.classes[9].name).toBe("Ankle boot")
    expect(report.identity).toMatch(/^[0-9a-f]{64}$/)
    const again = capture()
    await run(command.run(["inspect", "fashion-mnist", `--data-dir=${root}`, "--json"], again.io))
    expect(JSON.parse(again.out.join("\n")).identity).toBe(report.identity)
  })

  it("human output without --json; synthetic datasets need no files", async () => {
    const c = capture()
    expect(await run(command.run(["inspect", "synthetic-counting", "--split", "test"], c.io))).toBe(0)
    const text = c.out.join("\n")
    expect(text).toContain("synthetic-counting (test)")
    expect(text).toContain("500 of 1x28x28")
    expect(text).toMatch(/identity\s+[0-9a-f]{64}/)
  })

  it("a bad file ends in the reader's typed error", async () => {
    const { root, dir } = tinyRoot()
    const file = path.join(dir, "train-labels-idx1-ubyte")
    const b = fs.readFileSync(file)
    b[8 + 4] = 200
    fs.writeFileSync(file, b)
    const err = await failureOf(command.run(["inspect", "fashion-mnist", "--data-dir", root], capture().io))
    expect(err).toMatchObject({ _tag: "LabelOutOfRangeError", file, offset: 12 })
  })

  it("missing data, unknown dataset, unknown flag and bad usage are typed errors", async () => {
    const io = capture().io
    const missing = await failureOf(command.run(["inspect", "fashion-mnist", "--data-dir", tempDir("none")], io))
    expect(missing?._tag).toBe("DatasetNotInstalled")
    expect(missing).toMatchObject({ dataset: "fashion-mnist" })
    expect(missing?.message).toContain("npm run setup")
    expect(missing?.message).toContain("apt-get install dataset-fashion-mnist")
    const unknown = await failureOf(command.run(["inspect", "cifar-10"], io))
    expect(unknown).toMatchObject({ _tag: "UnknownNameError", what: "dataset", name: "cifar-10" })
    expect((unknown as { suggestions?: ReadonlyArray<string> }).suggestions?.[0]).toBe("cifar10")
    const flag = await failureOf(parseDataArgs(["inspect", "mnist", "--spilt", "test"]))
    expect(flag).toMatchObject({ _tag: "UnknownFlagError", flag: "--spilt" })
    expect(flag?.message).toContain("--spilt")
    expect(await failureOf(parseDataArgs(["inspect", "mnist", "--split", "val"]))).toMatchObject({ _tag: "DataUsageError" })
    expect(await failureOf(parseDataArgs(["inspect"]))).toMatchObject({ _tag: "DataUsageError" })
    expect(await failureOf(parseDataArgs(["inspect", "mnist", "--data-dir"]))).toMatchObject({ _tag: "DataUsageError" })
    expect(await failureOf(parseDataArgs(["frobnicate"]))).toMatchObject({ _tag: "DataUsageError" })
  })

  it("list names every dataset", async () => {
    const c = capture()
    await run(command.run(["list", "--json"], c.io))
    const { datasets, readers } = JSON.parse(c.out.join("\n"))
    expect(datasets.map((d: { name: string }) => d.name)).toContain("fashion-mnist")
    expect(readers).toContain("image-folder")
  })
})
