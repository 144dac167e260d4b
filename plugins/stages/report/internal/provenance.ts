/**
 * How the report was made (issue 12, part 7): when it was rendered, the
 * backend and versions, the machine (CPU model and cores, Node version), the
 * git commit of the checkout, and, when the executor ran it, the run's
 * nodes with their resolved configs (the hyperparameters), timings and
 * whether each time was measured while other stages ran at once.
 *
 * The commit is read from the `.git` files (HEAD, the ref it names, loose or
 * packed; worktrees' `gitdir:` files followed), never by running git: the
 * stage may run in a worker thread. A report served from the cache keeps
 * what was true when it was rendered.
 */
import { readFileSync, statSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { RuntimeInfo, type RunFacts } from "../../../../runtime/executor/RuntimeInfo.ts"

/** One node of the run, as the report shows it. */
export interface MadeNode {
  readonly node: string
  readonly stage: string
  readonly config: unknown
  readonly status: "cached" | "will-run"
  readonly deps: ReadonlyArray<string>
  /** Seconds the entry took to compute (this run or the earlier one it was cached from); null: not finished. */
  readonly seconds: number | null
  readonly startedAt: string | null
  readonly backend: string | null
  /** Peak RSS of the process while it was computed (bytes; includes whatever ran beside it); null: not recorded. */
  readonly peakRssBytes: number | null
  /** Its computing interval overlapped another node's: its time was measured concurrently. */
  readonly concurrent: boolean
  /** Its entry was adopted from older code (`ssl-kd cache adopt`): the fingerprint of the code that computed it; null otherwise. */
  readonly computedWithCode: string | null
}

export interface MadeWith {
  readonly renderedAt: string
  readonly backend: string
  readonly versions: Readonly<Record<string, string>>
  readonly cpu: string
  readonly cores: number
  readonly platform: string
  readonly commit: string | null
  readonly branch: string | null
  readonly run: {
    readonly pipeline: string
    readonly preset: string | null
    readonly startedAt: string
    readonly workers: number
    readonly pool: "none" | "fan-out" | "all"
    /** From the run's start to the report's rendering. */
    readonly wallSeconds: number
    /** Sum of every node's compute time (cached entries included). */
    readonly computeSeconds: number
    readonly nodes: ReadonlyArray<MadeNode>
  } | null
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return null
  }
}

/** HEAD's commit and branch of the git checkout containing `from`, read from its files; nulls when there is none. */
export const gitHead = (from: string): { readonly commit: string | null; readonly branch: string | null } => {
  let dir = path.resolve(from)
  for (;;) {
    const dotGit = path.join(dir, ".git")
    let gitDir: string | null = null
    try {
      const st = statSync(dotGit)
      if (st.isDirectory()) gitDir = dotGit
      else {
        const m = /^gitdir:\s*(.+)\s*$/m.exec(readText(dotGit) ?? "")
        if (m?.[1] !== undefined) gitDir = path.resolve(dir, m[1].trim())
      }
    } catch {
      gitDir = null
    }
    if (gitDir !== null) {
      const head = (readText(path.join(gitDir, "HEAD")) ?? "").trim()
      const common = path.resolve(gitDir, (readText(path.join(gitDir, "commondir")) ?? ".").trim())
      const ref = /^ref:\s*(.+)$/.exec(head)?.[1]
      if (ref === undefined) return { commit: /^[0-9a-f]{40,64}$/.test(head) ? head : null, branch: null }
      const loose = (readText(path.join(gitDir, ref)) ?? readText(path.join(common, ref)))?.trim()
      const packed = (readText(path.join(common, "packed-refs")) ?? "").split("\n").find((l) => l.endsWith(` ${ref}`))?.split(" ")[0]
      const commit = loose ?? packed ?? null
      return { commit: commit !== null && /^[0-9a-f]{40,64}$/.test(commit) ? commit : null, branch: ref.replace(/^refs\/heads\//, "") }
    }
    const up = path.dirname(dir)
    if (up === dir) return { commit: null, branch: null }
    dir = up
  }
}

/** The run's nodes with their seconds and whether each was timed while another node computed (intervals overlap). */
export const madeNodes = (facts: RunFacts): ReadonlyArray<MadeNode> => {
  const span = (t: { readonly startedAt: string; readonly finishedAt: string }) => [Date.parse(t.startedAt), Date.parse(t.finishedAt)] as const
  const timed = facts.nodes.flatMap((n) => (n.timing === undefined ? [] : [{ node: n.node, span: span(n.timing) }]))
  return facts.nodes.map((n) => {
    const t = n.timing
    const mine = t === undefined ? undefined : span(t)
    const concurrent = mine !== undefined && timed.some((o) => o.node !== n.node && o.span[0] < mine[1] && mine[0] < o.span[1])
    return { node: n.node, stage: n.stage, config: n.config, status: n.status, deps: n.deps, seconds: t === undefined ? null : t.durationMs / 1000, startedAt: t?.startedAt ?? null, backend: t?.backend ?? null, peakRssBytes: t?.peakRssBytes ?? null, concurrent, computedWithCode: n.computedWithCode ?? null }
  })
}

/** Facts of the machine and the run, read when the report is rendered. */
export const madeWith: Effect.Effect<MadeWith> = Effect.gen(function* () {
  const info = yield* RuntimeInfo
  const now = new Date()
  const cpus = os.cpus()
  const facts = info.run?.()
  const git = gitHead(process.cwd())
  const nodes = facts === undefined ? [] : madeNodes(facts)
  return {
    renderedAt: now.toISOString(),
    backend: info.backend(),
    versions: info.versions,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    commit: git.commit,
    branch: git.branch,
    run:
      facts === undefined
        ? null
        : {
            pipeline: facts.pipeline,
            preset: facts.preset,
            startedAt: facts.startedAt,
            workers: facts.workers,
            pool: facts.pool,
            wallSeconds: (now.getTime() - Date.parse(facts.startedAt)) / 1000,
            computeSeconds: nodes.reduce((a, n) => a + (n.seconds ?? 0), 0),
            nodes,
          },
  }
})
