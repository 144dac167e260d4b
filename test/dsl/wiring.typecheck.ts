/**
 * Compile-time wiring checks. This file is type-checked by `npm test` (tsc);
 * each `@ts-expect-error` must stay an error, or tsc fails ("unused directive").
 */
import { Pipeline } from "../../dsl/index.ts"
import { describeTotals, generate, sum } from "./sampleStages.ts"

// A correct pipeline compiles.
export const ok = Pipeline.make("ok")
  .stage("gen", generate, { config: { count: 4 } })
  .stage("sum", sum, { inputs: { numbers: "gen" } })
  .fanOut("sums", sum, { inputs: { numbers: "gen" }, over: { a: { scale: 1 }, b: { scale: 2 } } })
  .stage("report", describeTotals, { inputs: { totals: "sums" } })
  .preset("small", { gen: { count: 1 }, sums: { scale: 3 } })

// Wrong artifact type: "sum" produces Total, the input wants Numbers.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, {}).stage("sum", sum, { inputs: { numbers: "gen" } }).stage("sum2", sum, { inputs: { numbers: "sum" } })

// Unknown upstream node.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, {}).stage("sum", sum, { inputs: { numbers: "gne" } })

// Missing input wiring.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, {}).stage("sum", sum, { inputs: {} })

// A single artifact wired where all items of a fan-out are expected.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, {}).stage("sum", sum, { inputs: { numbers: "gen" } }).stage("r", describeTotals, { inputs: { totals: "sum" } })

// A fan-out wired where a single artifact is expected.
Pipeline.make("bad")
  .stage("gen", generate, {})
  .fanOut("sums", sum, { inputs: { numbers: "gen" }, over: { a: {} } })
  // @ts-expect-error
  .stage("again", sum, { inputs: { numbers: "sums" } })

// Duplicate node name.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, {}).stage("gen", generate, {})

// Config of the wrong type.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, { config: { count: "three" } })

// Config field that does not exist.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, { config: { cuont: 3 } })

// Preset naming an unknown node.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, {}).preset("p", { gne: { count: 1 } })

// Preset with a wrongly typed value.
// @ts-expect-error
Pipeline.make("bad").stage("gen", generate, {}).preset("p", { gen: { count: "1" } })

// Gather: a list of single nodes and fan-out groups producing Total feeds an Artifact.many(Total) input.
export const gathered = Pipeline.make("gather")
  .stage("gen", generate, {})
  .stage("one", sum, { inputs: { numbers: "gen" } })
  .stage("two", sum, { inputs: { numbers: "gen" }, config: { scale: 2 } })
  .fanOut("sums", sum, { inputs: { numbers: "gen" }, over: { a: {} } })
  .stage("report", describeTotals, { inputs: { totals: ["one", "two", "sums"] } })

// A gathered list naming a node of another artifact type.
Pipeline.make("bad")
  .stage("gen", generate, {})
  .stage("one", sum, { inputs: { numbers: "gen" } })
  // @ts-expect-error
  .stage("report", describeTotals, { inputs: { totals: ["one", "gen"] } })

// A list wired to a single-artifact input.
Pipeline.make("bad")
  .stage("gen", generate, {})
  // @ts-expect-error
  .stage("sum", sum, { inputs: { numbers: ["gen"] } })
