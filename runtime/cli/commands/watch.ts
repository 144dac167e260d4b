/**
 * `ssl-kd watch <pipeline.ts> [--preset P] [--set ...] [--also PATH]... [--no-typecheck]`
 *
 * Runs the pipeline, then again on every save of a source file of the
 * project that the pipeline imports, directly or not (chokidar; `--also` adds
 * data files or folders), so only stale stages rerun. Each run is a child
 * `ssl-kd run` process: a change during a run interrupts it (no partial entry
 * is kept) and starts a fresh one. Before each run the pipeline is
 * type-checked; a syntax or type error is reported and the watcher waits for
 * the next save.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { watch as chokidarWatch } from "chokidar"
import { Effect } from "effect"
import { makeTypeChecker } from "../../watch/typecheck.ts"
import { checkCommonFlags, parseWith, requirePositional } from "../args.ts"
import type { CommandHelp } from "../help.ts"
import type { CliCommand, CliIO } from "../Command.ts"
import { cacheDirOf, pipelineOptions, presetHelp } from "../session.ts"
import { urlScheme } from "../../cache/remoteStore.ts"

const usage = "ssl-kd watch <pipeline.ts> [--preset P] [--set NODE.FIELD=VALUE]... [--also PATH]... [--no-typecheck] [--json] [-v] [--backend B] [--workers N] [--data-dir DIR] [--cache-dir DIR] [--remote-store URL]"

const { preset, set, json, verbose, backend, workers } = pipelineOptions
export const help = {
  usage,
  summary: "Run the pipeline, then again on every save of a file it imports (only stale stages rerun); a change during a run restarts it. Each run is first type-checked with the project's tsconfig.json.",
  args: { "<pipeline.ts>": "The pipeline file, e.g. pipelines/paper.ts." },
  options: {
    preset,
    set,
    also: { type: "string", multiple: true, value: "PATH", text: "Also rerun when this file or folder changes (e.g. data files the pipeline reads).", example: "ssl-kd watch pipelines/paper.ts --also /usr/share/datasets/fashion-mnist" },
    "no-typecheck": { type: "boolean", text: "Run without type-checking first (faster start; type errors then fail at run time).", example: "ssl-kd watch pipelines/paper.ts --preset smoke --no-typecheck" },
    json,
    verbose,
    backend,
    workers,
    "data-dir": pipelineOptions["data-dir"],
    "cache-dir": pipelineOptions["cache-dir"],
    "remote-store": pipelineOptions["remote-store"],
  },
  examples: ["ssl-kd watch pipelines/paper.ts --preset smoke"],
} as const satisfies CommandHelp

const BIN = fileURLToPath(new URL("../../../bin/ssl-kd.js", import.meta.url))
const SOURCE = /\.(m?ts|tsx|m?js|json)$/

interface WatchLoop {
  readonly trigger: (why: string) => void
  readonly stop: () => Promise<void>
  /** Whether a changed file can affect the pipeline (it is in its import graph). */
  readonly affects: (file: string) => boolean
}

const startLoop = (
  io: CliIO,
  pipelineFile: string,
  runArgs: ReadonlyArray<string>,
  typecheck: boolean,
  onDeps: (files: ReadonlySet<string>) => void,
): WatchLoop => {
  const checker = makeTypeChecker(pipelineFile)
  let deps: ReadonlySet<string> = new Set([pipelineFile])
  let child: ChildProcess | undefined
  let pending: string | undefined
  let busy = false
  let stopped = false

  const stopChild = () =>
    new Promise<void>((resolve) => {
      const c = child
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return resolve()
      const timer = setTimeout(() => c.kill("SIGKILL"), 15_000)
      c.once("exit", () => {
        clearTimeout(timer)
        resolve()
      })
      c.kill("SIGINT")
    })

  const cycle = async () => {
    if (busy || stopped) return
    busy = true
    while (pending !== undefined && !stopped) {
      const why = pending
      pending = undefined
      await stopChild()
      io.err(`ssl-kd watch: ${why}`)
      // Grows only: a file an edit stops importing (or a broken edit hides) is still watched.
      deps = new Set([...deps, ...checker.files()])
      onDeps(deps)
      if (typecheck) {
        const errors = checker.check()
        if (errors.length > 0) {
          io.err(`ssl-kd watch: the pipeline does not type-check (${errors.length} error${errors.length > 1 ? "s" : ""}); waiting for the next save:`)
          for (const e of errors.slice(0, 20)) io.err(`  ${e}`)
          continue
        }
      }
      if (pending !== undefined) continue
      const c = spawn(process.execPath, [BIN, "run", pipelineFile, ...runArgs], { stdio: ["ignore", "pipe", "pipe"] })
      child = c
      c.stdout?.on("data", (d: Buffer) => io.out(d.toString().replace(/\n$/, "")))
      c.stderr?.on("data", (d: Buffer) => io.err(d.toString().replace(/\n$/, "")))
      c.once("exit", (code, signal) => {
        if (child === c) child = undefined
        if (!stopped) io.err(`ssl-kd watch: run ${signal !== null || code === 130 ? "interrupted" : code === 0 ? "finished" : `failed (exit ${code})`}; waiting for changes`)
      })
    }
    busy = false
  }

  return {
    trigger: (why) => {
      pending = why
      if (child !== undefined) void stopChild()
      void cycle()
    },
    stop: async () => {
      stopped = true
      await stopChild()
    },
    affects: (file) => deps.has(path.resolve(file)),
  }
}

export const command: CliCommand = {
  name: "watch",
  summary: "rerun stale stages on every save",
  usage,
  help,
  helpMore: presetHelp,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parseWith("watch", help, argv)
      yield* checkCommonFlags("watch", usage, values)
      const file = path.resolve(io.cwd, yield* requirePositional("watch", usage, positionals, 0, "the pipeline file"))
      const cacheDir = cacheDirOf(io, values["cache-dir"])
      const runArgs = [
        "--cache-dir",
        cacheDir,
        ...(values.preset ? ["--preset", values.preset] : []),
        ...(values.set ?? []).flatMap((s) => ["--set", s]),
        ...(values.json === true ? ["--json"] : []),
        ...(values.workers ? ["--workers", values.workers] : []),
        ...(values.backend ? ["--backend", values.backend] : []),
        ...(values.verbose === true ? ["--verbose"] : []),
        ...(values["data-dir"] ? ["--data-dir", path.resolve(io.cwd, values["data-dir"])] : []),
        ...(values["remote-store"] ? ["--remote-store", urlScheme(values["remote-store"]) !== undefined ? values["remote-store"] : path.resolve(io.cwd, values["remote-store"])] : []),
      ]
      const also = (values.also ?? []).map((p) => path.resolve(io.cwd, p))
      // Watch the pipeline's own import graph (grown after each check) and `--also` paths.
      const watcher = chokidarWatch([file, ...also], { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 25 } })
      const watched = new Set<string>([file])
      const loop = startLoop(io, file, runArgs, values["no-typecheck"] !== true, (deps) => {
        const fresh = [...deps].filter((d) => !watched.has(d))
        for (const d of fresh) watched.add(d)
        if (fresh.length > 0) watcher.add(fresh)
      })
      let debounce: NodeJS.Timeout | undefined
      const changed = new Set<string>()
      watcher.on("all", (_event, p) => {
        const isAlso = also.some((a) => path.resolve(p).startsWith(a))
        if (!isAlso && !(SOURCE.test(p) && loop.affects(p))) return
        changed.add(path.relative(io.cwd, p))
        clearTimeout(debounce)
        debounce = setTimeout(() => {
          const list = [...changed]
          changed.clear()
          loop.trigger(`changed: ${list.slice(0, 5).join(", ")}${list.length > 5 ? ` and ${list.length - 5} more` : ""}`)
        }, 150)
      })
      yield* Effect.promise(() => new Promise<void>((resolve) => watcher.once("ready", () => resolve())))
      io.err(`ssl-kd watch: watching ${path.relative(io.cwd, file)} and the files it imports${also.length > 0 ? `, and ${also.join(", ")}` : ""} (Ctrl-C to stop)`)
      loop.trigger("starting")
      // Runs until interrupted (Ctrl-C); then stops the child run and the watcher.
      return yield* Effect.never.pipe(
        Effect.ensuring(
          Effect.promise(async () => {
            clearTimeout(debounce)
            await loop.stop()
            await watcher.close()
          }),
        ),
      )
    }),
}
