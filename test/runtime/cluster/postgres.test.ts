/** The throw-away PostgreSQL of the cluster tests starts, accepts connections on loopback, and leaves nothing behind. */
import * as fs from "node:fs"
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { findPostgres, startPostgres } from "./postgres.ts"

const found = findPostgres()
if ("missing" in found) console.warn(`postgres harness test skipped: ${found.missing}`)

const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port })
    s.once("connect", () => (s.destroy(), resolve(true)))
    s.once("error", () => resolve(false))
  })

describe.skipIf("missing" in found)("postgres harness", () => {
  it("starts on 127.0.0.1 at a free port, stops, and removes its folder (the server process included)", async () => {
    const pg = await startPostgres()
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`)
    expect(await connects(pg.port)).toBe(true)
    const postmaster = Number(fs.readFileSync(`${pg.dir}/data/postmaster.pid`, "utf8").split("\n")[0])
    await pg.stop()
    expect(fs.existsSync(pg.dir)).toBe(false)
    expect(await connects(pg.port)).toBe(false)
    expect(() => process.kill(postmaster, 0)).toThrow()
  }, 30_000)
})
