/**
 * How the report was made: the commit read from the .git files equals what
 * git prints, worktrees and packed refs included; stage times are marked
 * concurrent exactly when their intervals overlap another node's.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, it } from "vitest"
import { configText } from "../../../../plugins/stages/report/internal/madeDocument.ts"
import { gitHead, madeNodes } from "../../../../plugins/stages/report/internal/provenance.ts"
import { seedWords } from "../../../../plugins/stages/report/internal/format.ts"

const git = (cwd: string, ...args: Array<string>) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim()
const hasGit = (() => {
  try {
    git(process.cwd(), "--version")
    return true
  } catch {
    return false
  }
})()

it.skipIf(!hasGit)("reads HEAD's commit as git does: loose ref, packed ref, worktree, detached", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-git-"))
  const repo = path.join(dir, "repo")
  fs.mkdirSync(repo)
  git(repo, "init", "-q", "-b", "main")
  fs.writeFileSync(path.join(repo, "a.txt"), "a")
  git(repo, "add", "a.txt")
  git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a")
  const head = git(repo, "rev-parse", "HEAD")
  fs.mkdirSync(path.join(repo, "sub"))
  expect(gitHead(path.join(repo, "sub"))).toEqual({ commit: head, branch: "main" })
  git(repo, "pack-refs", "--all")
  expect(fs.existsSync(path.join(repo, ".git", "refs", "heads", "main"))).toBe(false)
  expect(gitHead(repo)).toEqual({ commit: head, branch: "main" })
  git(repo, "worktree", "add", "-q", "-b", "side", path.join(dir, "wt"))
  expect(gitHead(path.join(dir, "wt"))).toEqual({ commit: head, branch: "side" })
  git(repo, "checkout", "-q", "--detach")
  expect(gitHead(repo)).toEqual({ commit: head, branch: null })
  expect(gitHead(os.tmpdir() === "/" ? "/" : path.parse(dir).root)).toEqual({ commit: null, branch: null })
})

it("marks a stage time concurrent exactly when its interval overlaps another node's", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString()
  const timing = (a: number, b: number) => ({ startedAt: at(a), finishedAt: at(b), durationMs: (b - a) * 1000, backend: "wasm" })
  const nodes = madeNodes({
    pipeline: "p",
    preset: null,
    startedAt: at(0),
    workers: 2,
    pool: "none",
    nodes: [
      { node: "a", stage: "s", config: {}, status: "will-run", deps: [], timing: timing(0, 10) },
      { node: "b", stage: "s", config: {}, status: "will-run", deps: ["a"], timing: timing(5, 12) },
      // Starts when b ends: touching is not overlapping.
      { node: "c", stage: "s", config: {}, status: "will-run", deps: ["b"], timing: timing(12, 20) },
      { node: "d", stage: "s", config: {}, status: "will-run", deps: ["c"] },
    ],
  })
  expect(nodes.map((n) => [n.node, n.seconds, n.concurrent])).toEqual([
    ["a", 10, true],
    ["b", 7, true],
    ["c", 8, false],
    ["d", null, false],
  ])
})

it("writes seeds and configs in words", () => {
  expect(seedWords([0])).toBe("seed 0")
  expect(seedWords([0, 1, 2])).toBe("seeds 0, 1, 2")
  expect(seedWords([])).toBe("no seed recorded")
  expect(configText({ lr: 0.001, mode: "partial-1", crops: [2, 6] })).toBe("lr=0.001, mode=partial-1, crops=[2,6]")
  expect(configText({})).toBe("(no fields)")
})
