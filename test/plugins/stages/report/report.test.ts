/**
 * `paper/report` from hand-made inputs: every file is produced; the HTML is
 * one self-contained page; the numbers appear as documented (percent with two
 * decimals, signed differences to the baseline computed by hand, mean ± sample
 * std over seeds); Markdown tables have the expected rows and columns in a
 * stable order; PNGs decode at the SVGs' size; SVGs are well-formed; labels
 * are escaped; missing parts say "not run"; and the stage runs with a
 * StageContext stub.
 */
import { Effect, Schema } from "effect"
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { StageContext } from "../../../../dsl/index.ts"
import { paperReport, renderReport, ReportConfig, type ReportInputs } from "../../../../plugins/stages/report/report.ts"
import { empty, inputs, score } from "./fixtures.ts"

const FILES = ["figure1.png", "figure1.svg", "figure3.png", "figure3.svg", "losses-students.png", "losses-students.svg", "losses-teachers.png", "losses-teachers.svg", "report.html", "report.json", "report.md"]

const utf8 = new TextDecoder()
const render = (i: ReportInputs, c: Partial<ReportConfig> = {}) => Effect.runPromise(renderReport(i, c))
const text = (files: ReadonlyMap<string, Uint8Array>, name: string): string => {
  const b = files.get(name)
  if (b === undefined) throw new Error(`no ${name}`)
  return utf8.decode(b)
}

/** Markdown table rows (cells trimmed) of the table whose header row starts with `first`. */
const mdTable = (md: string, first: string): Array<Array<string>> => {
  const lines = md.split("\n")
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`))
  if (start < 0) throw new Error(`no table starting with ${first}`)
  const rows: Array<Array<string>> = []
  for (const l of lines.slice(start)) {
    if (!l.startsWith("|")) break
    rows.push(l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()))
  }
  return rows
}

const VOID = new Set(["meta", "br", "hr", "img", "link", "input"])

/** Tags balance (a parse check enough for our generated SVG and HTML); returns the problem or undefined. */
const unbalanced = (doc: string): string | undefined => {
  const stack: Array<string> = []
  const body = doc.replace(/<!DOCTYPE[^>]*>/i, "").replace(/<style>[\s\S]*?<\/style>/, "<style></style>")
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/g)) {
    const [, close, name = "", , self] = m
    if (self === "/" || VOID.has(name.toLowerCase())) continue
    if (close === "/") {
      const open = stack.pop()
      if (open !== name) return `</${name}> closes <${open ?? "nothing"}>`
    } else stack.push(name)
  }
  if (/<(?![/a-zA-Z!])/.test(body.replace(/<\/?[a-zA-Z][^>]*>/g, ""))) return "a stray '<'"
  return stack.length === 0 ? undefined : `unclosed <${stack.join("> <")}>`
}

const svgSize = (svg: string): [number, number] => {
  const m = /<svg [^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg)
  return [Number(m?.[1]), Number(m?.[2])]
}

describe("renderReport", () => {
  it("(the parse check itself catches unbalanced tags and stray '<')", () => {
    expect(unbalanced("<svg><g></svg>")).toBeDefined()
    expect(unbalanced("<svg><text>a < b</text></svg>")).toBeDefined()
    expect(unbalanced('<svg x="1"><g/><text>a &lt; b</text></svg>')).toBeUndefined()
  })

  it("writes every file; the HTML is one self-contained page", async () => {
    const files = await render(inputs)
    expect([...files.keys()].sort()).toEqual(FILES)
    const html = text(files, "report.html")
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true)
    expect(html).not.toMatch(/src\s*=/i)
    expect(html).not.toMatch(/<link\b/i)
    expect(html).not.toMatch(/<script\b/i)
    expect(html).not.toMatch(/url\(|@import/i)
    for (const m of html.matchAll(/href="([^"]*)"/g)) expect(m[1]?.startsWith("#")).toBe(true)
    // Both figures are inlined.
    expect(html.match(/<svg /g)?.length).toBe(2)
    expect(html).toContain("<style>")
    expect(unbalanced(html)).toBeUndefined()
  })

  it("shows Table 2 with hand-computed differences to the baseline, in label order", async () => {
    const files = await render(inputs)
    const md = text(files, "report.md")
    const t2 = mdTable(md, "label")
    expect(t2[0]).toEqual(["label", "model", "protocol", "top-1 (%)", "Δ vs baseline (pt)", "k-NN top-1 (%)", "seeds", "runs", "train images", "test images", "training (s)", "evaluation (s)"])
    expect(t2[1]).toEqual(["---", "---", "---", "---:", "---:", "---:", "---", "---:", "---:", "---:", "---:", "---:"])
    const body = t2.slice(2)
    expect(body.map((r) => r[0])).toEqual(["baseline", "kd-dino", "kd-mae", "ours"])
    for (const r of body) expect(r).toHaveLength(12)
    // 81.25 - 80 = +1.25; 79.5 - 80 = -0.50; mean(83, 84) - 80 = +3.50; std of {0.83, 0.84} = 0.00707 -> 0.71 pt.
    expect(body.map((r) => [r[3], r[4]])).toEqual([
      ["80.00", "—"],
      ["81.25", "+1.25"],
      ["79.50", "-0.50"],
      ["83.50 ± 0.71", "+3.50"],
    ])
    // ours: seeds 0, 1; two runs; mean times (100 + 200) / 2 and (2 + 6) / 2.
    expect(body[3]?.slice(6)).toEqual(["seeds 0, 1", "2", "3,000", "1,000", "150.0", "4.0"])
    expect(body[0]?.slice(1, 3)).toEqual(["vitMicroPatch7\\_28 baseline", "head"])

    const json = JSON.parse(text(files, "report.json"))
    const deltas = json.table2.rows.map((r: { deltaPoints: number | null }) => r.deltaPoints)
    expect(deltas[0]).toBeNull()
    expect(deltas.slice(1).map((d: number) => Math.round(d * 1e6) / 1e6)).toEqual([1.25, -0.5, 3.5])
    expect(json.table2.rows[3].seeds).toEqual([0, 1])

    const html = text(files, "report.html")
    for (const s of ["81.25", "+1.25", "-0.50", "+3.50", "83.50 ± 0.71", "150.0"]) expect(html).toContain(`>${s}</td>`)
  })

  it("shows Table 1 as teacher x mode with trainable counts and shares", async () => {
    const md = text(await render(inputs), "report.md")
    const t1 = mdTable(md, "teacher")
    expect(t1[0]).toEqual(["teacher", "family", "mode", "trainable params", "% of total", "total params", "test top-1 (%)", "train top-1 (%)", "dataset", "test images", "seed", "adaptation (s)"])
    // contrastive before MIM, then linear < partial-1 < full; 13,098 / 27,978 = 46.8 %.
    expect(t1.slice(2)).toEqual([
      ["dino", "contrastive", "linear", "970", "3.5", "27,978", "60.00", "61.00", "fashion-mnist", "1,000", "0", "12.5"],
      ["dino", "contrastive", "partial-1", "13,098", "46.8", "27,978", "77.25", "80.00", "fashion-mnist", "1,000", "0", "12.5"],
      ["mae", "masked-image-modeling", "full", "27,978", "100.0", "27,978", "81.20", "90.00", "fashion-mnist", "1,000", "0", "12.5"],
    ])
  })

  it("shows Figure 3 with the protocol per dataset, the per-class table, Figure 1's numbers and the eq. 2 tables", async () => {
    const files = await render(inputs)
    const md = text(files, "report.md")
    expect(md).toContain("cifar-10: linear-probe on frozen features (a linear classifier fitted on the frozen features of 5,000 training images); tested on 2,000 images")
    expect(md).toContain("fashion-mnist: head (the model's own classification head")
    expect(md).toContain("![Figure 3 analog")
    expect(md).toContain("(figure3.png)")
    expect(md).toContain("(figure1.png)")
    const f3 = mdTable(md, "dataset").slice(2)
    expect(f3.map((r) => `${r[0]}/${r[1]}/${r[2]}/${r[3]}`)).toEqual([
      "fashion-mnist/baseline/head/80.00",
      "fashion-mnist/kd-dino/head/81.25",
      "fashion-mnist/kd-mae/head/79.50",
      "fashion-mnist/ours/head/83.50 ± 0.71",
      "cifar-10/baseline/linear-probe/40.00",
      "cifar-10/ours/linear-probe/45.00",
    ])
    const svg3 = text(files, "figure3.svg")
    for (const v of ["80.0", "81.3", "79.5", "83.5", "40.0", "45.0"]) expect(svg3).toContain(`>${v}</text>`)
    expect(svg3).toContain("<tspan")
    expect(svg3).toContain(">linear-probe</tspan>")
    expect(svg3.match(/>n\/a</g)?.length).toBe(2) // kd-dino and kd-mae were not run on cifar-10

    // Per class: ours = mean of (0.8, 0.9), (0.8, 0.8), (0.89, 0.82).
    const pc = mdTable(md, "class")
    expect(pc[0]).toEqual(["class", "baseline", "kd-dino", "kd-mae", "ours"])
    expect(pc.slice(2)).toEqual([
      ["t-shirt", "70.00", "81.25", "79.50", "85.00"],
      ["trouser", "90.00", "81.25", "79.50", "80.00"],
      ["bag", "80.00", "81.25", "79.50", "85.50"],
    ])

    const f1 = mdTable(md, "layer")
    // Uniform attention on 28 px images in 7 px patches (a 4 x 4 grid): 14.06 px (see the references test).
    expect(f1[0]).toEqual(["layer", "dino (contrastive)", "mae (masked-image-modeling)", "uniform attention"])
    expect(f1.at(-1)).toEqual(["deep-layer mean", "15.00", "8.50", "14.06"])
    expect(md).toContain("dino 15.00 px vs mae 8.50 px: the paper's observation (the contrastive teacher attends more globally in deep layers) holds here")
    expect(text(files, "figure1.svg")).toContain(">dino (contrastive): deep layers 15.00 px</text>")

    // The eq. 2 table names each selection node (pretrained `ac-<t>` vs Partial-1 `ac-<t>-p1` rows would otherwise read alike).
    const eq2 = md.slice(md.indexOf("| selection | teacher | block |"))
    expect(mdTable(eq2, "selection").slice(2)).toEqual([
      ["ac-dino", "dino", "3", "**0.750** (chosen)", "0.500", "0.625", "0"],
      ["ac-mae", "mae", "3", "0.250", "**0.500** (chosen)", "0.125", "1"],
    ])
    expect(text(files, "report.html")).toContain('<td class="num chosen"><strong>0.750</strong> (chosen)</td>')
  })

  it("renders PNGs that decode at the SVGs' size, and well-formed SVGs", async () => {
    for (const i of [inputs, empty]) {
      const files = await render(i)
      for (const f of ["figure1", "figure3"]) {
        const svg = text(files, `${f}.svg`)
        expect(unbalanced(svg)).toBeUndefined()
        const png = files.get(`${f}.png`) ?? new Uint8Array()
        expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        // IHDR: width and height, big-endian, at bytes 16..24.
        const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
        const [w, h] = svgSize(svg)
        expect([view.getUint32(16), view.getUint32(20)]).toEqual([Math.round(w), Math.round(h)])
        const meta = await sharp(png).metadata()
        expect([meta.format, meta.width, meta.height]).toEqual(["png", Math.round(w), Math.round(h)])
      }
    }
  })

  it("escapes labels with <&> in HTML, SVG and Markdown", async () => {
    const evil = "kd-<b>&co"
    const files = await render({ ...empty, scores: [{ item: "x", value: score({ label: "baseline", top1: 0.5 }) }, { item: "y", value: score({ label: evil, top1: 0.75 }) }] }, { title: "R&D <report>", notes: "see <here> & there" })
    const html = text(files, "report.html")
    expect(html).not.toContain(evil)
    expect(html).toContain("kd-&lt;b&gt;&amp;co")
    expect(html).toContain("<title>R&amp;D &lt;report&gt;</title>")
    expect(html).toContain("<p>see &lt;here&gt; &amp; there</p>")
    expect(unbalanced(html)).toBeUndefined()
    const svg = text(files, "figure3.svg")
    expect(svg).not.toContain(evil)
    expect(svg).toContain(">kd-&lt;b&gt;&amp;co</text>")
    const md = text(files, "report.md")
    expect(md).not.toContain("<b>")
    expect(mdTable(md, "label").slice(2).map((r) => [r[0], r[4]])).toEqual([
      ["baseline", "—"],
      ["kd-&lt;b&gt;&amp;co", "+25.00"],
    ])
  })

  it("orders rows the same whatever the input order: baseline, kd-*, ours, then the rest", async () => {
    const shuffled: ReportInputs = {
      adaptation: [...inputs.adaptation].reverse(),
      scores: [...inputs.scores].reverse(),
      attention: [...inputs.attention].reverse(),
      heads: [...inputs.heads].reverse(),
    }
    const [a, b] = [await render(inputs), await render(shuffled)]
    for (const f of FILES) expect(text(b, f) === text(a, f), f).toBe(true)

    const labels = ["ours", "zeta", "kd-mae", "ablation", "baseline", "kd-dino"]
    const md = text(await render({ ...empty, scores: labels.map((l, i) => ({ item: l, value: score({ label: l, top1: 0.5 + i / 100 }) })) }), "report.md")
    expect(mdTable(md, "label").slice(2).map((r) => r[0])).toEqual(["baseline", "kd-dino", "kd-mae", "ours", "ablation", "zeta"])
  })

  it("says 'not run' for each missing part instead of failing", async () => {
    const files = await render(empty)
    expect([...files.keys()].sort()).toEqual(FILES)
    const md = text(files, "report.md")
    // The six parts, the ablations, the loss curves and how it was made (rendered outside a stage).
    expect(md.match(/^> \*\*Not run:\*\*/gm)?.length).toBe(9)
    expect(md).toContain("Not run: Table 1, Table 2, Figure 3, Figure 1, the eq. 2 tables.")
    const html = text(files, "report.html")
    expect(html.match(/class="not-run"/g)?.length).toBe(9)
    expect(html).not.toContain("<svg") // no figure without data
    expect(text(files, "figure3.svg")).toContain("Figure 3: not run")
    expect(JSON.parse(text(files, "report.json")).notRun).toEqual(["table1", "table2", "figure3", "figure1", "heads"])
  })

  it("shows the teachers after joint training even when Table 1 did not run (a pipeline that scores only them)", async () => {
    const joint = [{ item: "top1-ours-3-ibot", value: { teacher: "ibot", family: "other", mode: "joint partial-1", trainable: 13_098, total: 27_978, dataset: "fashion-mnist", testImages: 1000, top1: 0.7, trainTop1: 0.72, seed: 0, adaptationSeconds: 0 } }]
    const md = text(await render({ ...empty, jointTeachers: joint }), "report.md")
    expect(md).toContain("no teacher-adaptation scores were gathered")
    expect(md).toContain("Teachers after joint training")
    expect(mdTable(md, "run").slice(2).map((r) => [r[0], r[1], r[7]])).toEqual([["ours-3", "ibot", "70.00"]])
  })

  it("names the datasets present when the primary one has no scores, and gives no Δ without a baseline", async () => {
    const md = text(await render(inputs, { primaryDataset: "mnist" }), "report.md")
    expect(md).toContain('no scores on the primary dataset "mnist" (scores exist for: cifar-10, fashion-mnist; set primaryDataset)')
    const noBase = text(await render({ ...empty, scores: inputs.scores.filter((s) => s.value.label !== "baseline") }), "report.md")
    expect(mdTable(noBase, "label").slice(2).map((r) => [r[0], r[4]])).toEqual([
      ["kd-dino", "n/a"],
      ["kd-mae", "n/a"],
      ["ours", "n/a"],
    ])
    expect(noBase).toContain('No "baseline" row was evaluated on fashion-mnist')
  })
})

describe("paper/report stage", () => {
  it("runs with a StageContext stub and logs what it reported", async () => {
    const logs: Array<string> = []
    const ctx = StageContext.of({ node: "report", key: "test", scratchDir: "/nonexistent", progress: () => Effect.void, log: (m) => Effect.sync(() => void logs.push(m)) })
    const config = Schema.decodeUnknownSync(paperReport.config)({ title: "Smoke" })
    const files = await Effect.runPromise(paperReport.run({ config, inputs: { knn: [], jointTeachers: [], ablations: [], pretraining: [], students: [], ...inputs, attention: [] } }).pipe(Effect.provideService(StageContext, ctx)))
    expect([...files.keys()].sort()).toEqual(FILES)
    expect(text(files, "report.html")).toContain("<h1>Smoke</h1>")
    expect(logs).toEqual(["report: claims (a) not tested, (b) inconclusive, (c) not tested, (d) not tested, (e) not tested; gates not checked/not checked/passed; Table 1 3 rows, Table 2 4 rows on fashion-mnist, Figure 3 2 datasets, Figure 1 0 curves, eq. 2 2 tables; not run: figure1"])
    // The output artifact round-trips its files unchanged.
    const decoded = await Effect.runPromise(paperReport.output.decode(new Map(paperReport.output.encode(files).map((f) => [f.name, f.bytes]))))
    expect(decoded.get("report.md")).toEqual(files.get("report.md"))
  })
})
