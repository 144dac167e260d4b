/** Which worker pool `ssl-kd run` uses (`--workers`, `SSL_KD_POOL`): runtime/cli/session.ts `poolOptions`. */
import { describe, expect, it } from "vitest"
import { poolOptions } from "../../runtime/cli/session.ts"

describe("poolOptions", () => {
  it("SSL_KD_POOL=all keeps a pool with one worker (one stage at a time), as `on` does for fan-out items", () => {
    expect(poolOptions({ workers: "1" }, { SSL_KD_POOL: "all" })).toMatchObject({ workers: 1, scope: "all" })
    expect(poolOptions({ workers: "1" }, { SSL_KD_POOL: "on" })).toMatchObject({ workers: 1 })
    expect(poolOptions({ workers: "1" }, { SSL_KD_POOL: "on" })).not.toHaveProperty("scope")
  })

  it("one worker without SSL_KD_POOL, or SSL_KD_POOL=off, runs in-process", () => {
    expect(poolOptions({ workers: "1" }, {})).toBeUndefined()
    expect(poolOptions({ workers: "4" }, { SSL_KD_POOL: "off" })).toBeUndefined()
    expect(poolOptions({ workers: "2" }, {})).toMatchObject({ workers: 2 })
  })
})
