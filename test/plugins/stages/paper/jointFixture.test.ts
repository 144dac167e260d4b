/**
 * Bit-identity of the N-teacher `paper/joint-distill` with the earlier
 * two-teacher stage: `test/fixtures/joint/two-teacher.json` was recorded by
 * the stage with fixed `cl` / `mim` inputs (commit b2e2f9d, wasm) on the
 * tiny setup of `jointFixture.ts`; the general path, given the paper's
 * two-row table (and the `lambda1` / `lambda2` knobs for the second case),
 * must reproduce every weight of the student and of both teachers (sha256
 * over the float32 bytes), every step's loss and every component's epoch
 * means exactly.
 */
import { readFileSync } from "node:fs"
import { beforeAll, describe, expect, it } from "vitest"
import { type FixtureTeacher, fixtureCases, fixtureTeachers, type RunDigest, runDigest, runJoint, warmInputs, warmTable } from "./jointFixture.ts"
import { selectTestBackend } from "../../teachers/stageHarness.ts"

const fixture = JSON.parse(readFileSync(new URL("../../../fixtures/joint/two-teacher.json", import.meta.url), "utf8")) as {
  readonly backend: string
  readonly heads: { readonly dino: number; readonly mae: number }
  readonly cases: Record<keyof typeof fixtureCases, RunDigest>
}
const backend = process.env.SSL_KD_BACKEND ?? "wasm"
let teachers: { dino: FixtureTeacher; mae: FixtureTeacher }

beforeAll(async () => {
  await selectTestBackend()
  teachers = await fixtureTeachers()
}, 120_000)

describe.runIf(backend === fixture.backend)("paper/joint-distill over N teachers vs the recorded two-teacher stage", () => {
  it("selects the same heads as when recorded", () => {
    expect({ dino: teachers.dino.heads.best, mae: teachers.mae.heads.best }).toEqual(fixture.heads)
  })

  for (const name of Object.keys(fixtureCases) as Array<keyof typeof fixtureCases>) {
    it(`case ${name}: student and teacher weights, step losses and components are bit-identical`, async () => {
      const r = await runJoint({ teachers: warmTable, ...fixtureCases[name] }, warmInputs(teachers))
      const got = runDigest(r.student, [r.teachers.get("cl") ?? new Map(), r.teachers.get("mim") ?? new Map()])
      const want = fixture.cases[name]
      expect(got.student).toBe(want.student)
      expect(got.teachers).toEqual(want.teachers)
      expect(got.steps).toEqual(want.steps)
      expect(got.components).toEqual(want.components)
      expect(got.headWeight).toEqual(want.headWeight)
    }, 120_000)
  }
})
