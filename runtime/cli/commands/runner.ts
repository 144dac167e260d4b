/**
 * `ssl-kd runner --cluster postgres://... --slots cpu=N[,gpu=M] [--cache-dir D] [--address HOST:PORT]`
 *
 * A long-running process that joins the cluster and runs stages sent by
 * `ssl-kd run ... --cluster postgres://...` (runtime/cluster/Runner.ts).
 * Stops cleanly on Ctrl-C / SIGTERM (its running stages are interrupted and
 * their jobs go back to the queue).
 */
import { Effect } from "effect"
import { freePort } from "../../cluster/freePort.ts"
import { parseWith, UsageError } from "../args.ts"
import type { CliCommand } from "../Command.ts"
import type { CommandHelp } from "../help.ts"
import { cacheDirOf, pipelineOptions, remoteStoreOf } from "../session.ts"

const usage = "ssl-kd runner --cluster postgres://USER@HOST:PORT/DB --slots cpu=N[,gpu=M] [--cache-dir D] [--remote-store URL] [--address HOST:PORT] [--lease-seconds S] [--backend B]"

export const help = {
  usage,
  summary: "Join a cluster as a runner: run the stages of clustered runs in this machine's worker pool and commit them to the shared store.",
  args: {},
  options: {
    cluster: { type: "string", value: "URL", text: "The cluster's PostgreSQL database (message, runner and queue storage).", example: "ssl-kd runner --cluster postgres://ssl@db:5432/sslkd --slots cpu=4" },
    slots: { type: "string", value: "cpu=N[,gpu=M]", text: "How many stages of each resource class this runner runs at once; it takes work only while a slot is free.", example: "ssl-kd runner --cluster postgres://... --slots cpu=2,gpu=1" },
    "cache-dir": { ...pipelineOptions["cache-dir"], text: "The shared store (the same folder every runner and every clustered run sees, e.g. on a shared file system); with --remote-store, this runner's local cache of that store." },
    "remote-store": { ...pipelineOptions["remote-store"], example: "ssl-kd runner --cluster postgres://... --slots cpu=4 --cache-dir /local/ssl-kd --remote-store file:///shared/ssl-kd" },
    address: { type: "string", value: "HOST:PORT", text: "Where the other runners reach this one (default 127.0.0.1 and a free port: one machine only).", example: "ssl-kd runner --cluster postgres://... --slots cpu=8 --address 10.0.0.5:34431" },
    "lease-seconds": { type: "string", value: "S", text: "A job taken by a runner that stops refreshing its lease (killed) goes to another runner after S seconds (default 120).", example: "ssl-kd runner --cluster postgres://... --slots cpu=2 --lease-seconds 30" },
    backend: pipelineOptions.backend,
  },
} as const satisfies CommandHelp

/** `cpu=2,gpu=1` -> slots per class. */
export const parseSlots = (flag: string | undefined): Effect.Effect<{ cpu?: number; gpu?: number }, UsageError> =>
  Effect.gen(function* () {
    if (flag === undefined) return yield* new UsageError({ command: "runner", usage, problem: "--slots is required, e.g. --slots cpu=2" })
    const out: { cpu?: number; gpu?: number } = {}
    for (const part of flag.split(",")) {
      const m = /^(cpu|gpu)=(\d+)$/.exec(part.trim())
      if (m === null) return yield* new UsageError({ command: "runner", usage, problem: `--slots ${flag}: "${part}" is not cpu=N or gpu=N (N a whole number)` })
      out[m[1] as "cpu" | "gpu"] = Number(m[2])
    }
    if ((out.cpu ?? 0) + (out.gpu ?? 0) === 0) return yield* new UsageError({ command: "runner", usage, problem: `--slots ${flag}: at least one slot is needed` })
    return out
  })

export const command: CliCommand = {
  name: "runner",
  summary: "join a cluster and run stages of clustered runs",
  usage,
  help,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values } = yield* parseWith("runner", help, argv)
      const url = values.cluster
      if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) {
        return yield* new UsageError({ command: "runner", usage, problem: `--cluster ${url ?? "(missing)"}: expected a postgres:// URL` })
      }
      const slots = yield* parseSlots(values.slots)
      let host = "127.0.0.1"
      let port: number
      if (values.address !== undefined) {
        const m = /^(.+):(\d+)$/.exec(values.address)
        if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) return yield* new UsageError({ command: "runner", usage, problem: `--address ${values.address}: expected HOST:PORT` })
        host = m[1]!
        port = Number(m[2])
      } else port = yield* Effect.promise(() => freePort("127.0.0.1"))
      const lease = values["lease-seconds"] === undefined ? 120 : Number(values["lease-seconds"])
      if (!Number.isFinite(lease) || lease < 1) return yield* new UsageError({ command: "runner", usage, problem: `--lease-seconds ${values["lease-seconds"]}: expected a number of seconds >= 1` })
      const remoteStore = yield* remoteStoreOf(io, values["remote-store"])
      const { runRunner } = yield* Effect.promise(() => import("../../cluster/Runner.ts"))
      return yield* runRunner({
        url,
        slots,
        storeRoot: cacheDirOf(io, values["cache-dir"]),
        ...(remoteStore === undefined ? {} : { remoteStore }),
        projectRoot: io.cwd,
        host,
        port,
        leaseMs: lease * 1000,
        tensorBackend: { flag: values.backend, env: process.env["SSL_KD_BACKEND"] },
        log: (line) => io.err(line),
      })
    }),
}
