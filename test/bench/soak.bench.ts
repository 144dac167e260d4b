/**
 * Crash and interrupt soak (issue 17): runs the smoke pipeline once in a
 * clean store for reference, then, in a second store, runs it again and again,
 * each run signalled at a random time (uniform over the clean run's
 * duration), until `--kills` SIGKILLs and `--interrupts` SIGINTs (in random
 * order) have landed on a run that was still working. A run that finishes
 * before its signal completes a cycle: its printed tables are compared with
 * the clean run's, `cache verify` checks the store, and the store is emptied
 * for the next cycle (so the signals keep hitting runs with work to do, not
 * a finished store). Then one final run. Checks: no hang (every SIGINT'd run
 * exits within `--bound` seconds, a final run within the clean time × 3 +
 * bound), no internal error, every cycle's and the final run's tables equal
 * to the clean run's, `cache verify` clean each time. Prints the counts; exit
 * 1 when a check fails.
 *
 *   node --import tsx test/bench/soak.bench.ts [--kills 50] [--interrupts 10] [--bound 60] [--seed 1] [--json]
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const argv = process.argv.slice(2)
const flag = (name: string, dflt: number): number => {
  const at = argv.indexOf(`--${name}`)
  const v = at >= 0 ? Number(argv[at + 1]) : dflt
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} ${argv[at + 1]}: expected a number >= 0`)
  return v
}
const json = argv.includes("--json")
const kills = flag("kills", 50)
const interrupts = flag("interrupts", 10)
const boundS = flag("bound", 60)
let seed = flag("seed", 1) || 1
const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646

const REPO = fileURLToPath(new URL("../../", import.meta.url))
const BIN = path.join(REPO, "bin", "ssl-kd.js")
const runArgs = (cache: string) => [BIN, "run", "pipelines/paper.ts", "--preset", "smoke", "--cache-dir", cache]
const log = (s: string) => {
  if (!json) console.log(s)
}

interface Ended {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
  readonly hung: boolean
}

/** Run the CLI; at `signalAfterMs` send `signal`; a run not over `boundMs` after that (or after start) is a hang, then SIGKILLed. */
const runCli = (cache: string, signal?: { readonly name: "SIGKILL" | "SIGINT"; readonly afterMs: number }, boundMs = 3_600_000): Promise<Ended & { signalled: boolean }> =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, runArgs(cache), { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } })
    let stdout = ""
    let stderr = ""
    let hung = false
    let signalled = false
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    let hangTimer: NodeJS.Timeout | undefined
    const armHang = () => {
      hangTimer = setTimeout(() => {
        hung = true
        child.kill("SIGKILL")
      }, boundMs)
    }
    const sigTimer =
      signal === undefined
        ? undefined
        : setTimeout(() => {
            signalled = child.exitCode === null && child.signalCode === null
            child.kill(signal.name)
            if (signal.name === "SIGINT") armHang()
          }, signal.afterMs)
    if (signal === undefined) armHang()
    child.on("close", (code, sig) => {
      if (sigTimer !== undefined) clearTimeout(sigTimer)
      if (hangTimer !== undefined) clearTimeout(hangTimer)
      resolve({ code, signal: sig, stdout, stderr, ms: Date.now() - started, hung, signalled })
    })
  })

/** The printed tables, with the store's folder replaced by a placeholder. */
const tables = (stdout: string, cache: string) => stdout.split(cache).join("<store>").trim()

const main = async () => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-soak-"))
  const clean = path.join(base, "clean")
  const soak = path.join(base, "soak")
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ")
  log(`soak: ${kills} SIGKILLs + ${interrupts} SIGINTs on the smoke pipeline (load ${load()}, ${os.cpus().length} CPUs)`)

  const reference = await runCli(clean)
  if (reference.code !== 0) throw new Error(`the clean run failed (exit ${reference.code}):\n${reference.stderr.slice(-2000)}`)
  log(`clean run: ${(reference.ms / 1000).toFixed(1)} s`)

  const events: Array<"SIGKILL" | "SIGINT"> = [...Array<"SIGKILL">(kills).fill("SIGKILL"), ...Array<"SIGINT">(interrupts).fill("SIGINT")]
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[events[i], events[j]] = [events[j]!, events[i]!]
  }
  const counts = {
    kills: 0, interrupts: 0, endedBeforeSignal: 0, cycles: 0, cycleMismatches: 0, cycleVerifyFailures: 0,
    hangs: 0, internalErrors: 0, sigintBadExit: 0, failedRuns: 0, corruptDetected: 0,
  }
  const verifyStore = () => spawnSync(process.execPath, [BIN, "cache", "verify", "--cache-dir", soak], { cwd: REPO, encoding: "utf8" })
  const soakStarted = Date.now()
  // Every run but the ones that finish first consumes its event; a cap keeps a machine too fast for the signals from looping forever.
  const maxRuns = 4 * events.length + 10
  let runs = 0
  while (events.length > 0 && runs < maxRuns) {
    runs++
    const name = events[0]!
    const afterMs = Math.round(random() * reference.ms)
    const r = await runCli(soak, { name, afterMs }, boundS * 1000)
    if (r.hung) counts.hangs++
    if (/internal error/.test(r.stderr)) counts.internalErrors++
    counts.corruptDetected += (r.stderr.match(/cached entry unusable/g) ?? []).length
    let outcome: string
    if (r.signalled) {
      events.shift()
      if (name === "SIGKILL") counts.kills++
      else counts.interrupts++
      // An interrupted run exits 130; one that had already finished its work may exit 0; one interrupted
      // while node is still starting (before the CLI installs its handler) dies of the signal itself.
      if (name === "SIGINT" && !r.hung && r.code !== 130 && r.code !== 0 && r.signal !== "SIGINT") counts.sigintBadExit++
      outcome = r.hung ? "HUNG" : `exit ${r.code ?? r.signal}`
    } else {
      counts.endedBeforeSignal++
      if (r.code !== 0) {
        counts.failedRuns++
        outcome = `ended first, FAILED (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`
      } else {
        // A finished store: check it as the final run would, then start a fresh cycle.
        counts.cycles++
        const same = tables(r.stdout, soak) === tables(reference.stdout, clean)
        const v = verifyStore()
        if (!same) counts.cycleMismatches++
        if (v.status !== 0) counts.cycleVerifyFailures++
        outcome = `ended first (exit 0): cycle ${counts.cycles} complete, tables ${same ? "identical" : "DIFFERENT"}, cache verify exit ${v.status}; store emptied`
        await fs.rm(soak, { recursive: true, force: true })
      }
    }
    log(`  ${String(runs).padStart(3)} ${name.padEnd(7)} at ${(afterMs / 1000).toFixed(1).padStart(6)} s: ${outcome}`)
  }
  const soakMs = Date.now() - soakStarted

  const final = await runCli(soak, undefined, reference.ms * 3 + boundS * 1000)
  const verify = verifyStore()
  const corruptInStore = Number(/(\d+) corrupt/.exec(verify.stderr)?.[1] ?? Number.NaN)
  const identical = final.code === 0 && tables(final.stdout, soak) === tables(reference.stdout, clean)
  counts.corruptDetected += (final.stderr.match(/cached entry unusable/g) ?? []).length
  const result = {
    ...counts,
    runs,
    requestedKills: kills,
    requestedInterrupts: interrupts,
    finalExit: final.code,
    finalHung: final.hung,
    finalSeconds: final.ms / 1000,
    verifyExit: verify.status,
    corruptInStore,
    identicalTables: identical,
    cleanRunSeconds: reference.ms / 1000,
    soakSeconds: soakMs / 1000,
    load: load(),
  }
  const allLanded = counts.kills === kills && counts.interrupts === interrupts
  const ok = allLanded && counts.hangs === 0 && counts.internalErrors === 0 && counts.sigintBadExit === 0 && counts.failedRuns === 0 &&
    counts.cycleMismatches === 0 && counts.cycleVerifyFailures === 0 && !final.hung && verify.status === 0 && identical
  if (json) console.log(JSON.stringify({ ok, ...result }))
  else {
    console.log(
      `soak ${ok ? "OK" : "FAILED"}: ${counts.kills} of ${kills} kills and ${counts.interrupts} of ${interrupts} interrupts landed on working runs ` +
        `(${counts.endedBeforeSignal} runs ended before their signal: ${counts.cycles} completed cycles, ${counts.cycleMismatches} with different tables, ` +
        `${counts.cycleVerifyFailures} failed cache verify, ${counts.failedRuns} failed runs), ` +
        `${counts.hangs} hangs, ${counts.internalErrors} internal errors, ${counts.sigintBadExit} bad SIGINT exits, ${counts.corruptDetected} corrupt entries detected (never served); ` +
        `final run exit ${final.code} in ${(final.ms / 1000).toFixed(1)} s, cache verify exit ${verify.status} (${corruptInStore} corrupt), tables ${identical ? "identical" : "DIFFERENT"} to the clean run; ` +
        `soak ${(soakMs / 1000).toFixed(0)} s, load ${load()}`,
    )
    if (!identical) console.log(`--- clean\n${tables(reference.stdout, clean)}\n--- final\n${tables(final.stdout, soak)}\n${final.stderr.slice(-2000)}`)
  }
  await fs.rm(base, { recursive: true, force: true })
  process.exitCode = ok ? 0 : 1
}

await main()
