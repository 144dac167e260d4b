/**
 * A teacher's backbone as stage config: a model registry name plus optional
 * width / depth / heads overrides (so a demo can pretrain a narrower, shallower
 * ViT of the same family) and the pooling its features and heads use
 * downstream (`globalPool`: `"token"`, or `"avg"`, MAE fine-tuning's mean of
 * the patch tokens + `fc_norm`), always head-less (SSL teachers have no
 * classifier; timm's `.dino`/`.mae` files carry an empty `head`).
 */
import { Effect, Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import type { UnknownNameError } from "../../dsl/errors.ts"
import type { InvalidModelConfig } from "../models/errors.ts"
import { Models } from "../models/variants.ts"
import { type GlobalPool, globalPoolOf, validateConfig, type VitConfig } from "../models/vit/config.ts"

/** The backbone a pretraining stage builds when its config names none: ViT-Ti's shape on 28 px images. */
export const DEFAULT_PRETRAIN_ARCH = "vitTinyPatch4_28"

const NonNegInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** Config fields shared by every stage that builds a teacher backbone; 0 keeps the architecture's value. */
export const archFields = {
  arch: Config.withDefault(Schema.String, ""),
  embedDim: Config.withDefault(NonNegInt, 0),
  depth: Config.withDefault(NonNegInt, 0),
  numHeads: Config.withDefault(NonNegInt, 0),
  /**
   * timm `global_pool` of the built model, recorded in the artifact's
   * config: `"token"` (class token, final `norm`) or `"avg"` (mean patch
   * token, `fc_norm`; MAE's fine-tuning default). Adaptation, evaluation and
   * k-NN "cls" features follow it through `forwardHead`.
   */
  globalPool: Config.withDefault(Schema.Literals(["token", "avg"]), "token"),
}

export interface ArchOverrides {
  readonly arch: string
  readonly embedDim: number
  readonly depth: number
  readonly numHeads: number
  /** Absent: the architecture's own (class token for every registered variant). */
  readonly globalPool?: GlobalPool | undefined
}

/** The head-less ViT config a stage builds: `arch` (or the teacher's default) with overrides, validated. */
export const resolveArch = (
  defaultArch: string,
  o: ArchOverrides,
  inChans?: number,
): Effect.Effect<{ readonly arch: string; readonly config: VitConfig }, UnknownNameError | InvalidModelConfig> =>
  Effect.gen(function* () {
    const arch = o.arch === "" ? defaultArch : o.arch
    const base = yield* (yield* Models).resolve(arch, { numClasses: 0, ...(inChans === undefined ? {} : { inChans }) })
    const config: VitConfig = {
      ...base,
      ...(o.embedDim > 0 ? { embedDim: o.embedDim } : {}),
      ...(o.depth > 0 ? { depth: o.depth } : {}),
      ...(o.numHeads > 0 ? { numHeads: o.numHeads } : {}),
      globalPool: o.globalPool ?? globalPoolOf(base),
    }
    const bad = validateConfig(arch, config)
    if (bad !== undefined) return yield* bad
    const resized = o.embedDim > 0 || o.depth > 0 || o.numHeads > 0
    return { arch: resized ? `${arch}(D${config.embedDim},L${config.depth},H${config.numHeads})` : arch, config }
  })
