/**
 * `ssl-kd cluster status` on bad input: each mistake is a one-line error
 * naming the sub-command, flag or value (exit 2), an unreachable database
 * one naming the URL without its password. With a database (the PostgreSQL
 * harness), a fresh one reports an idle cluster. The command against a live
 * cluster is tested in cluster.test.ts.
 */
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { main } from "../../../runtime/cli/main.ts"
import { REPO } from "../project.ts"
import { findPostgres, startPostgres } from "./postgres.ts"

const cli = async (...argv: Array<string>) => {
  let out = ""
  let err = ""
  const code = await main(argv, { out: (t) => void (out += `${t}\n`), err: (t) => void (err += `${t}\n`), cwd: REPO, isTTY: false })
  return { code, out, err }
}

/** A loopback port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

describe("ssl-kd cluster status: bad input", () => {
  it("names what is wrong: the sub-command, a missing or non-postgres --cluster, an unknown flag", async () => {
    const none = await cli("cluster")
    expect(none.code).toBe(2)
    expect(none.err).toContain("missing a sub-command (status)")
    const sub = await cli("cluster", "stats", "--cluster", "postgres://x@127.0.0.1:1/db")
    expect(sub.code).toBe(2)
    expect(sub.err).toContain('unknown sub-command "stats": expected status')
    const missing = await cli("cluster", "status")
    expect(missing.code).toBe(2)
    expect(missing.err).toContain("--cluster (missing): expected a postgres:// URL")
    const mysql = await cli("cluster", "status", "--cluster", "mysql://db/x")
    expect(mysql.code).toBe(2)
    expect(mysql.err).toContain("--cluster mysql://db/x: expected a postgres:// URL")
    const flag = await cli("cluster", "status", "--clustr", "postgres://x@127.0.0.1:1/db")
    expect(flag.code).toBe(2)
    expect(flag.err).toContain("--cluster")
  })

  it("an unreachable database: ClusterStatusError naming the URL, password redacted", async () => {
    const port = await closedPort()
    const r = await cli("cluster", "status", "--cluster", `postgres://ssl:secret@127.0.0.1:${port}/db`)
    expect(r.code).toBe(2)
    expect(r.err).toContain(`ssl-kd cluster: cannot read the cluster at postgres://ssl:***@127.0.0.1:${port}/db`)
    expect(r.err).not.toContain("secret")
  }, 30_000)

  it.skipIf("missing" in findPostgres())("a database no runner or run has used: no runner, nothing queued or running", async () => {
    const pg = await startPostgres()
    try {
      const r = await cli("cluster", "status", "--cluster", pg.url, "--json")
      expect(r.code, r.err).toBe(0)
      expect(JSON.parse(r.out)).toEqual({ cluster: pg.url, runners: [], queued: [], running: [], completed: 0, failed: 0, retaken: 0, unprocessedMessages: 0 })
      const human = await cli("cluster", "status", "--cluster", pg.url)
      expect(human.out).toContain("runners: 0")
      expect(human.out).toContain("queued: 0")
    } finally {
      await pg.stop()
    }
  }, 60_000)
})
