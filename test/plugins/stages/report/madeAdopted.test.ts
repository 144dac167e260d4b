/**
 * A report over adopted entries says so: "How this report was made" counts
 * the stages whose entries were carried from older code (`ssl-kd cache
 * adopt`) and names the code that computed them; a report without adopted
 * entries has no such row.
 */
import { Effect } from "effect"
import { expect, it } from "vitest"
import type { MadeWith } from "../../../../plugins/stages/report/internal/provenance.ts"
import { renderReport } from "../../../../plugins/stages/report/report.ts"
import { inputs } from "./fixtures.ts"

const made = (adopted: string | null): MadeWith => ({
  renderedAt: "2026-12-07T17:00:00.000Z",
  backend: "native",
  versions: { node: "v20.20.2" },
  cpu: "Test CPU",
  cores: 2,
  platform: "linux",
  commit: null,
  branch: null,
  run: {
    pipeline: "paper",
    preset: "repro",
    startedAt: "2026-12-07T16:59:00.000Z",
    workers: 2,
    pool: "all",
    wallSeconds: 60,
    computeSeconds: 3600,
    nodes: [
      { node: "dino", stage: "teachers/pretrain-dino", config: {}, status: "cached", deps: [], seconds: 3600, startedAt: "2026-12-03T08:18:44.000Z", backend: "native", peakRssBytes: null, concurrent: false, computedWithCode: adopted },
      { node: "report", stage: "paper/report", config: {}, status: "will-run", deps: ["dino"], seconds: null, startedAt: null, backend: null, peakRssBytes: null, concurrent: false, computedWithCode: null },
    ],
  },
})

const markdown = async (m: MadeWith): Promise<string> => new TextDecoder().decode((await Effect.runPromise(renderReport(inputs, {}, m))).get("report.md"))

it("counts the adopted stages and names the code that computed them", async () => {
  const md = await markdown(made("d7e9e3f4f586f20046171f382f9eb032e29889aea95034ddb7e753ae566a42d5"))
  expect(md).toContain("entries adopted from older code (ssl-kd cache adopt)")
  expect(md).toContain("1 of 2 stages, computed by code d7e9e3f4f586: same config, data and inputs, other code than this checkout's")
  expect(await markdown(made(null))).not.toContain("adopted from older code")
})
