/**
 * `ssl-kd cluster status`: what the cluster at a URL is doing, read from its
 * SQL tables (nothing joins the cluster): the runners that registered
 * (`ssl_kd_runners`: slots, checkout, store, the stages each is running, and
 * whether it still refreshes its row), the stage jobs waiting in the durable
 * queues and those a runner holds (`effect_queue`), how many jobs completed
 * or failed, and how many engine messages are not processed yet
 * (`cluster_messages`). A database no runner or run has used yet reports
 * nothing queued and no runner.
 */
import { PgClient } from "@effect/sql-pg"
import { Data, Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { LOST_AFTER_MS, type RunningStage } from "./internal/registry.ts"
import { redactUrl } from "./url.ts"

export interface RunnerStatus {
  readonly name: string
  readonly address: string
  readonly slots: Readonly<Record<string, number>>
  readonly project: string
  readonly store: string
  readonly startedAt: string
  /** Since the runner last refreshed its row. */
  readonly lastSeenMs: number
  /** Not refreshed for {@link LOST_AFTER_MS}: killed, or cut off from the database. */
  readonly lost: boolean
  readonly running: ReadonlyArray<RunningStage>
}

export interface JobStatus {
  readonly node: string
  readonly stage: string
  readonly key: string
  readonly resource: string
  readonly generation: number
  /** How many times a runner took it (more than 1: a runner holding it stopped, or it was interrupted). */
  readonly attempts: number
  /** Since it was queued. */
  readonly ageMs: number
  /** The runner holding it (running only; `null` when no live runner reports it: its holder died and the lease has not lapsed yet). */
  readonly runner?: string | null
}

export interface ClusterStatus {
  readonly cluster: string
  readonly runners: ReadonlyArray<RunnerStatus>
  readonly queued: ReadonlyArray<JobStatus>
  readonly running: ReadonlyArray<JobStatus>
  readonly completed: number
  readonly failed: number
  /** Jobs (in any state) that runners took more than once: a runner holding them died, or lost its lease. */
  readonly retaken: number
  readonly unprocessedMessages: number
}

/** The database could not be reached or read. */
export class ClusterStatusError extends Data.TaggedError("ClusterStatusError")<{ readonly cluster: string; readonly reason: string }> {
  override get message() {
    return `cannot read the cluster at ${this.cluster}: ${this.reason}`
  }
}

const QUEUES = "DurableQueue/ssl-kd/stage-%"

interface QueueRow {
  readonly element: string
  readonly attempts: number
  readonly taken: boolean
  readonly age_ms: number
}

const parseJob = (row: QueueRow): Omit<JobStatus, "runner"> => {
  let payload: { key?: unknown; generation?: unknown; resource?: unknown; job?: { node?: unknown; stage?: { stageName?: unknown } } } = {}
  try {
    payload = (JSON.parse(row.element) as { payload?: typeof payload }).payload ?? {}
  } catch {
    // an element this version cannot read: shown with what is known
  }
  return {
    node: String(payload.job?.node ?? "?"),
    stage: String(payload.job?.stage?.stageName ?? "?"),
    key: String(payload.key ?? "?"),
    resource: String(payload.resource ?? "?"),
    generation: Number(payload.generation ?? 0),
    attempts: Number(row.attempts),
    ageMs: Math.round(Number(row.age_ms)),
  }
}

const read = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [tables] = yield* sql<{ runners: boolean; queue: boolean; messages: boolean }>`SELECT
    to_regclass('ssl_kd_runners') IS NOT NULL AS runners,
    to_regclass('effect_queue') IS NOT NULL AS queue,
    to_regclass('cluster_messages') IS NOT NULL AS messages`
  const runners: Array<RunnerStatus> = []
  if (tables?.runners === true) {
    const rows = yield* sql<{ address: string; name: string; slots: string; project: string; store: string; running: string; started_at: string; since_ms: number }>`
      SELECT address, name, slots, project, store, running, started_at::text AS started_at,
        EXTRACT(EPOCH FROM now() - last_seen) * 1000 AS since_ms
      FROM ssl_kd_runners ORDER BY started_at, address`
    for (const r of rows) {
      const lastSeenMs = Math.round(Number(r.since_ms))
      runners.push({
        name: r.name,
        address: r.address,
        slots: JSON.parse(r.slots) as Record<string, number>,
        project: r.project,
        store: r.store,
        startedAt: r.started_at,
        lastSeenMs,
        lost: lastSeenMs > LOST_AFTER_MS,
        running: JSON.parse(r.running) as Array<RunningStage>,
      })
    }
  }
  const queued: Array<JobStatus> = []
  const running: Array<JobStatus> = []
  let completed = 0
  let failed = 0
  let retaken = 0
  if (tables?.queue === true) {
    const rows = yield* sql<QueueRow>`
      SELECT element, attempts, acquired_by IS NOT NULL AS taken,
        EXTRACT(EPOCH FROM LOCALTIMESTAMP - created_at) * 1000 AS age_ms
      FROM effect_queue WHERE queue_name LIKE ${QUEUES} AND state = 'pending' ORDER BY sequence`
    for (const row of rows) {
      const job = parseJob(row)
      if (!row.taken) queued.push(job)
      else {
        const holder = runners.find((r) => !r.lost && r.running.some((s) => s.key === job.key))
        running.push({ ...job, runner: holder?.name ?? null })
      }
    }
    const counts = yield* sql<{ state: string; n: number }>`
      SELECT state, count(*)::int AS n FROM effect_queue WHERE queue_name LIKE ${QUEUES} GROUP BY state`
    completed = counts.find((c) => c.state === "completed")?.n ?? 0
    failed = counts.find((c) => c.state === "failed")?.n ?? 0
    const [again] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM effect_queue WHERE queue_name LIKE ${QUEUES} AND attempts > 1`
    retaken = again?.n ?? 0
  }
  let unprocessedMessages = 0
  if (tables?.messages === true) {
    const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM cluster_messages WHERE NOT processed`
    unprocessedMessages = row?.n ?? 0
  }
  return { runners, queued, running, completed, failed, retaken, unprocessedMessages }
})

export const clusterStatus = (url: string): Effect.Effect<ClusterStatus, ClusterStatusError> =>
  read.pipe(
    Effect.map((s) => ({ cluster: redactUrl(url), ...s })),
    Effect.provide(PgClient.layer({ url: Redacted.make(url), connectTimeout: "5 seconds" })),
    Effect.mapError((e) => new ClusterStatusError({ cluster: redactUrl(url), reason: e.message })),
  )
