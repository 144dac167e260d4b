/**
 * `ssl-kd teachers --json` through the real binary: the built-in teachers
 * with family, architecture and weight source; `--with FILE` adds a user's
 * teachers; a bad module is a typed error naming the file.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { expect, it } from "vitest"
import { BIN, collect, REPO } from "../../runtime/project.ts"

const cli = (args: ReadonlyArray<string>) => collect(spawn(process.execPath, [BIN, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] }))

interface Row { name: string; family: string; architecture: string; weightSource: string; pretrainStage: string }

it("lists the registered teachers as JSON, and a user's teachers with --with", async () => {
  const r = await cli(["teachers", "--json"])
  expect(r.code).toBe(0)
  const rows = (JSON.parse(r.stdout) as { teachers: Array<Row> }).teachers
  expect(rows.map((t) => [t.name, t.family, t.architecture, t.pretrainStage])).toEqual([
    ["dino", "contrastive", "vitBasePatch16_224", "teachers/pretrain-dino"],
    ["mae", "masked-image-modeling", "vitBasePatch16_224", "teachers/pretrain-mae"],
  ])
  expect(rows[0]?.weightSource).toMatch(/pretrained locally by stage teachers\/pretrain-dino/)
  const user = await cli(["teachers", "--json", "--with", path.join("test", "plugins", "teachers", "userTeacher.ts")])
  expect((JSON.parse(user.stdout) as { teachers: Array<Row> }).teachers.map((t) => t.name)).toEqual(["dino", "half-masked", "mae"])
  const bad = await cli(["teachers", "--with", "no/such/file.ts"])
  expect(bad.code).toBe(2)
  expect(bad.stderr).toContain("cannot import teacher module no/such/file.ts")
}, 60_000)
