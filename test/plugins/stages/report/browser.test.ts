/**
 * The rendered report in a real headless browser (Debian's `chromium`):
 * report.html from the fixtures (every section, with a "how it was made"
 * record) loads with no console message and no failed resource, and a
 * screenshot is taken. Optional: skipped, saying so, where chromium is not
 * installed (`apt-get install chromium`). Set SSL_KD_REPORT_SCREENSHOT=DIR to
 * keep the screenshot and the page for a look.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import sharp from "sharp"
import { expect, it } from "vitest"
import type { MadeWith } from "../../../../plugins/stages/report/internal/provenance.ts"
import { renderReport } from "../../../../plugins/stages/report/report.ts"
import { inputs } from "./fixtures.ts"

const browser = ["chromium", "chromium-browser", "google-chrome"].find((b) => spawnSync("which", [b]).status === 0)
if (browser === undefined) console.warn("browser.test.ts: skipped: no chromium on PATH (apt-get install chromium to run it)")

const made: MadeWith = {
  renderedAt: "2026-12-02T19:00:00.000Z",
  backend: "native 1.0 (oneDNN)",
  versions: { node: "v22.0.0", "ssl-kd": "0.1.0" },
  cpu: "Test CPU",
  cores: 2,
  platform: "linux",
  commit: "0123456789abcdef0123456789abcdef01234567",
  branch: "main",
  run: {
    pipeline: "paper",
    preset: "smoke",
    startedAt: "2026-12-02T18:59:00.000Z",
    workers: 2,
    pool: "fan-out",
    wallSeconds: 60,
    computeSeconds: 90,
    nodes: [
      { node: "dino-partial-1", stage: "paper/adapt-teacher", config: { mode: "partial-1", lr: 0.001, epochs: 10 }, status: "will-run", deps: ["dino"], seconds: 30, startedAt: "2026-12-02T18:59:01.000Z", backend: "native", peakRssBytes: 734003200, concurrent: true, computedWithCode: null },
      { node: "top1-dino-partial-1", stage: "paper/evaluate-teacher", config: { dataset: "fashion-mnist" }, status: "cached", deps: ["dino-partial-1"], seconds: 2, startedAt: "2026-12-01T10:00:00.000Z", backend: "native", peakRssBytes: null, concurrent: false, computedWithCode: "d7e9e3f4f586f20046171f382f9eb032e29889aea95034ddb7e753ae566a42d5" },
    ],
  },
}

it.skipIf(browser === undefined)("renders in headless chromium with no console errors", async () => {
  const files = await Effect.runPromise(renderReport(inputs, {}, made))
  const dir = process.env.SSL_KD_REPORT_SCREENSHOT ?? fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-report-"))
  fs.mkdirSync(dir, { recursive: true })
  for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, name), bytes)
  const shot = path.join(dir, "screenshot.png")
  const r = spawnSync(
    browser ?? "chromium",
    ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--window-size=1280,4000", `--screenshot=${shot}`, `file://${path.join(dir, "report.html")}`],
    { encoding: "utf8", timeout: 60_000 },
  )
  expect(r.status, r.stderr).toBe(0)
  // Console messages and failed loads appear as CONSOLE lines and "Failed to load resource" in the log.
  const problems = r.stderr.split("\n").filter((l) => /CONSOLE|Failed to load resource|Uncaught|Refused to/.test(l))
  expect(problems).toEqual([])
  const meta = await sharp(shot).metadata()
  expect([meta.format, meta.width, meta.height]).toEqual(["png", 1280, 4000])
}, 90_000)
