/**
 * What `ssl-kd cluster status` reads besides the engine's own tables: each
 * runner's row in `ssl_kd_runners` (its name, slots, checkout, store, and the
 * stages it is running), written when it joins, refreshed every
 * {@link HEARTBEAT_MS} and removed when it stops cleanly. A killed runner's
 * row stays, with its last heartbeat ageing: status shows it as lost.
 */
import { Duration, Effect, Schedule, Semaphore } from "effect"
import { SqlClient } from "effect/sql"

export const HEARTBEAT_MS = 2000
/** A runner whose row was not refreshed for this long is shown as lost. */
export const LOST_AFTER_MS = 5 * HEARTBEAT_MS

export interface RunningStage {
  readonly node: string
  readonly key: string
  readonly resource: string
  readonly startedAt: string
  /** The stage's last progress report (`StageContext.progress`), if any: what a clustered run shows for it. */
  readonly progress?: { readonly done: number; readonly total: number; readonly note?: string }
}

export interface RunnerRow {
  readonly address: string
  readonly name: string
  readonly slots: Readonly<Record<string, number>>
  readonly project: string
  readonly store: string
}

/** The table, created once (concurrent joins serialize on an advisory lock: CREATE ... IF NOT EXISTS races in PostgreSQL). */
export const ensureRegistry = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql
    .withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(7310014)`
        // Log lines of running stages (StageContext.log on a runner), for the runs that wait on them.
        yield* sql`CREATE TABLE IF NOT EXISTS ssl_kd_stage_logs (
          seq BIGSERIAL PRIMARY KEY,
          key TEXT NOT NULL,
          at TIMESTAMPTZ NOT NULL DEFAULT now(),
          text TEXT NOT NULL
        )`
        yield* sql`CREATE INDEX IF NOT EXISTS ssl_kd_stage_logs_key ON ssl_kd_stage_logs (key, seq)`
        yield* sql`CREATE TABLE IF NOT EXISTS ssl_kd_runners (
          address TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          slots TEXT NOT NULL,
          project TEXT NOT NULL,
          store TEXT NOT NULL,
          running TEXT NOT NULL DEFAULT '[]',
          started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
          last_seen TIMESTAMPTZ NOT NULL DEFAULT now()
        )`
      }),
    )
})

/**
 * Registers this runner for the life of the scope: its row, refreshed with
 * what `running()` returns every {@link HEARTBEAT_MS}; removed at the end.
 * Returns `refresh`, which writes the row now (call it when `running()`
 * changed); writes are serialized, each with the state of its moment.
 */
export const registerRunner = (row: RunnerRow, running: () => ReadonlyArray<RunningStage>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* ensureRegistry
    const slots = JSON.stringify(row.slots)
    yield* sql`INSERT INTO ssl_kd_runners (address, name, slots, project, store, running, started_at, last_seen)
      VALUES (${row.address}, ${row.name}, ${slots}, ${row.project}, ${row.store}, '[]', now(), now())
      ON CONFLICT (address) DO UPDATE SET name = EXCLUDED.name, slots = EXCLUDED.slots, project = EXCLUDED.project,
        store = EXCLUDED.store, running = '[]', started_at = now(), last_seen = now()`
    yield* Effect.addFinalizer(() => Effect.ignore(sql`DELETE FROM ssl_kd_runners WHERE address = ${row.address}`))
    const one = yield* Semaphore.make(1)
    let lastOkAt = Date.now()
    const beat = one.withPermits(1)(
      Effect.suspend(() => sql`UPDATE ssl_kd_runners SET running = ${JSON.stringify(running())}, last_seen = now() WHERE address = ${row.address}`),
    ).pipe(
      Effect.andThen(Effect.sync(() => void (lastOkAt = Date.now()))),
      Effect.ignore,
    )
    yield* beat.pipe(Effect.repeat(Schedule.spaced(Duration.millis(HEARTBEAT_MS))), Effect.forkScoped)
    return {
      /** Writes the row now. */
      refresh: (): void => void Effect.runFork(beat),
      /** When the row was last written (a runner cut off from the database stops advancing it). */
      lastOkAt: (): number => lastOkAt,
    }
  })

/**
 * The keys that runners other than `address` report running (rows refreshed within {@link LOST_AFTER_MS}),
 * each with the latest time one of them started it. A killed runner's row lists its last stages until it
 * ages: callers compare start times, not mere presence.
 */
export const keysRunElsewhere = (address: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ running: string }>`SELECT running FROM ssl_kd_runners
      WHERE address <> ${address} AND last_seen > now() - make_interval(secs => ${LOST_AFTER_MS / 1000})`
    const out = new Map<string, number>()
    for (const r of rows) for (const s of JSON.parse(r.running) as Array<RunningStage>) out.set(s.key, Math.max(out.get(s.key) ?? 0, Date.parse(s.startedAt)))
    return out
  })

/** Appends a log line of the stage computing `key` (a runner's StageContext.log); a failed write is dropped (logs are best-effort). */
export const appendStageLog = (key: string, text: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO ssl_kd_stage_logs (key, text) VALUES (${key}, ${text})`
  }).pipe(Effect.ignore)

/** What a run waiting on `key` shows of it: log lines after `afterSeq`, and the progress its runner last reported (none when no live runner runs it). */
export const stageNews = (key: string, afterSeq: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const logs = yield* sql<{ seq: string; text: string }>`SELECT seq::text AS seq, text FROM ssl_kd_stage_logs WHERE key = ${key} AND seq > ${afterSeq} ORDER BY seq`
    const rows = yield* sql<{ running: string }>`SELECT running FROM ssl_kd_runners WHERE last_seen > now() - make_interval(secs => ${LOST_AFTER_MS / 1000})`
    const progress = rows.flatMap((r) => (JSON.parse(r.running) as Array<RunningStage>).filter((s) => s.key === key && s.progress !== undefined).map((s) => s.progress!))[0]
    return { logs: logs.map((l) => ({ seq: Number(l.seq), text: l.text })), progress }
  })
