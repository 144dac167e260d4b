/**
 * A throw-away PostgreSQL for cluster tests: `initdb` into a temp folder,
 * `postgres` listening on 127.0.0.1 only (no Unix socket outside the temp
 * folder) at a free port, trust authentication (loopback, one test's data),
 * fsync off. `stop` kills the server and removes the folder.
 *
 * As root the server runs as `nobody` (PostgreSQL refuses to run as root).
 * Where PostgreSQL is not installed, `findPostgres` says why and the tests
 * using it are skipped with that message.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export interface Postgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string
  readonly port: number
  readonly dir: string
  /** Kill the server and remove its folder. */
  readonly stop: () => Promise<void>
}

const CANDIDATES = [process.env["SSL_KD_PG_BIN"], "/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/14/bin"]

/** The folder holding `initdb` and `postgres`, or why there is none. */
export const findPostgres = (): { readonly bin: string } | { readonly missing: string } => {
  for (const dir of CANDIDATES) {
    if (dir !== undefined && fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "postgres"))) return { bin: dir }
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" })
  const found = which.status === 0 ? path.dirname(which.stdout.trim()) : undefined
  if (found !== undefined && fs.existsSync(path.join(found, "postgres"))) return { bin: found }
  return { missing: "PostgreSQL is not installed here (no initdb/postgres in /usr/lib/postgresql/*/bin, on PATH or in SSL_KD_PG_BIN; Debian: apt-get install postgresql)" }
}

/** A TCP port free on 127.0.0.1 right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0

/** Run as the unprivileged user when we are root. */
const asUser = (bin: string, args: ReadonlyArray<string>): [string, Array<string>] => (isRoot() ? ["runuser", ["-u", "nobody", "--", bin, ...args]] : [bin, [...args]])

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Start a fresh server; rejects with the server's log when it does not come up within `timeoutMs`. */
export const startPostgres = async (options: { readonly timeoutMs?: number } = {}): Promise<Postgres> => {
  const found = findPostgres()
  if ("missing" in found) throw new Error(found.missing)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-pg-"))
  if (isRoot()) spawnSync("chown", ["nobody:nogroup", dir])
  const data = path.join(dir, "data")
  const [initCmd, initArgs] = asUser(path.join(found.bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
  const init = spawnSync(initCmd, initArgs, { encoding: "utf8" })
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed (exit ${init.status}): ${init.stderr || init.stdout}`)
  }
  const port = await freePort()
  const log = path.join(dir, "postgres.log")
  const args = ["-D", data, "-h", "127.0.0.1", "-p", String(port), "-k", dir, "-F", "-c", "full_page_writes=off", "-c", "synchronous_commit=off", "-c", "max_connections=200"]
  const [cmd, cmdArgs] = asUser(path.join(found.bin, "postgres"), args)
  const out = fs.openSync(log, "a")
  const child: ChildProcess = spawn(cmd, cmdArgs, { stdio: ["ignore", out, out] })
  fs.closeSync(out)
  let exited = false
  child.once("exit", () => (exited = true))
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  const stop = async () => {
    // Signal the postmaster itself (runuser does not forward SIGQUIT); "smart" shutdown (SIGTERM)
    // would wait for clients, SIGQUIT ends the server and its backends at once.
    const pidFile = path.join(data, "postmaster.pid")
    const postmaster = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]) : NaN
    if (Number.isInteger(postmaster) && postmaster > 0 && alive(postmaster)) {
      process.kill(postmaster, "SIGQUIT")
      const deadline = Date.now() + 5000
      while (alive(postmaster) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      if (alive(postmaster)) process.kill(postmaster, "SIGKILL")
    }
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()))
      child.kill("SIGQUIT")
      await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))])
      if (!exited) child.kill("SIGKILL")
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : ""
      await stop()
      throw new Error(`postgres did not start on 127.0.0.1:${port}: ${text.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  // Accepting TCP is not yet accepting queries (startup recovery): wait for pg_isready when it is there.
  const isready = path.join(found.bin, "pg_isready")
  while (fs.existsSync(isready) && spawnSync(isready, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]).status !== 0) {
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`postgres on 127.0.0.1:${port} did not become ready`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, stop }
}
