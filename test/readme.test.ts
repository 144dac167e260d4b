/**
 * The README's code is code that compiles: its "Writing a pipeline" example
 * is kept verbatim in `test/api.typecheck.ts` (type-checked by `npm test`,
 * imports rewritten from the package's `ssl-kd/dsl` / `ssl-kd/plugins` to
 * repository paths), and both pipelines there build.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { REPO } from "./runtime/project.ts"

const readmeBlocks = (): Array<string> => [...fs.readFileSync(path.join(REPO, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string)

/** A README block as the repository compiles it: package imports to paths, the "in this repo" hint dropped. */
const asInRepo = (block: string): string =>
  block
    .replace(/"ssl-kd\/dsl"\s*\/\/ in this repo: "\.\.\/dsl\/index\.ts"/g, '"../dsl/index.ts"')
    .replaceAll('"ssl-kd/dsl"', '"../dsl/index.ts"')
    .replaceAll('"ssl-kd/plugins"', '"../plugins/index.ts"')

describe("README examples", () => {
  it("every complete example (one that starts with its imports) is in test/api.typecheck.ts verbatim", () => {
    const api = fs.readFileSync(path.join(REPO, "test", "api.typecheck.ts"), "utf8")
    const complete = readmeBlocks().filter((b) => b.startsWith("import "))
    expect(complete.length).toBeGreaterThan(0)
    for (const b of complete) expect(api).toContain(asInRepo(b))
  })

  it("the package exports the public surface the README names", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { exports: Record<string, string> }
    expect(pkg.exports["./dsl"]).toBe("./dsl/index.ts")
    expect(pkg.exports["./plugins"]).toBe("./plugins/index.ts")
  })

  it("the examples' pipelines build", async () => {
    const api = await import("./api.typecheck.ts")
    expect(api.default.nodes.map((n: { name: string }) => n.name)).toEqual(["gen", "total", "scaled[x2]", "scaled[x10]"])
    expect(api.twoTeachers.nodes.map((n: { name: string }) => n.name)).toEqual(["dino", "mae", "ac-dino", "ac-mae", "ours"])
  })
})
