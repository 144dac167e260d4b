/**
 * The default loss registry every stage resolves loss keys against, holding
 * the paper's losses (`ce`, `kd-output` eq. 1, `kd-attention` eq. 3) and two
 * from elsewhere (`kd-hard`, DeiT; `kd-feature`, FitNets-style).
 */
import { Context, Effect } from "effect"
import { ceLoss } from "./ce.ts"
import { kdAttentionLoss } from "./kdAttention.ts"
import { kdFeatureLoss } from "./kdFeature.ts"
import { kdHardLoss } from "./kdHard.ts"
import { kdOutputLoss } from "./kdOutput.ts"
import { type LossRegistry, makeLossRegistry } from "./registry.ts"

/** The built-in losses (a user registers more with `losses.register(key, defineLoss(...))`). */
export const losses: LossRegistry = makeLossRegistry()

Effect.runSync(Effect.forEach([ceLoss, kdOutputLoss, kdAttentionLoss, kdHardLoss, kdFeatureLoss], (e) => losses.register(e.key, e), { discard: true }))

/** The loss registry as a service (`yield* Losses`); its default is {@link losses}. */
export const Losses: Context.Reference<LossRegistry> = Context.Reference<LossRegistry>("ssl-kd/Losses", { defaultValue: () => losses })
