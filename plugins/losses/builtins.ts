/**
 * The default loss registry every stage resolves loss keys against, holding
 * the paper's losses (`ce`, `kd-output` eq. 1, `kd-attention` eq. 3) and two
 * from elsewhere (`kd-hard`, DeiT; `kd-feature`, FitNets-style).
 */
import { Effect } from "effect"
import { ceLoss } from "./ce.ts"
import { kdAttentionLoss } from "./kdAttention.ts"
import { kdFeatureLoss } from "./kdFeature.ts"
import { kdHardLoss } from "./kdHard.ts"
import { kdOutputLoss } from "./kdOutput.ts"
import { LossRegistry } from "./registry.ts"

/** The built-in losses (a user registers more with `losses.register(defineLoss(...))`). */
export const losses = new LossRegistry()

Effect.runSync(Effect.forEach([ceLoss, kdOutputLoss, kdAttentionLoss, kdHardLoss, kdFeatureLoss], (e) => losses.register(e), { discard: true }))
