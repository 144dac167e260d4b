/**
 * The epoch loop shared by the pretraining stages: resume from the scratch
 * folder's checkpoint, run the remaining epochs step by step (each step an
 * Effect, so Ctrl-C stops between steps), record the loss of every step and
 * the mean of every epoch, refuse a non-finite loss, report progress, and
 * checkpoint after every epoch (`resume.ts`); at the end, every step's and
 * epoch's loss go to `StageContext.metric` (the runtime's metrics.csv).
 */
import type * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { StageContext } from "../../dsl/index.ts"
import { NonFiniteLoss, TrainingStepError } from "./errors.ts"
import { loadResume, saveResume } from "./resume.ts"

interface EpochLoopBase {
  /** Stage name, for errors. */
  readonly stage: string
  /** Identity of the run's settings (see `ResumeMeta.run`). */
  readonly run: string
  /** Every variable the training changes: checkpointed and restored. */
  readonly vars: ReadonlyMap<string, tf.Variable>
  readonly epochs: number
  readonly stepsPerEpoch: number
}

/**
 * The loop's settings and its step. A step either finds its data itself, or
 * gets it from `fetch`, an Effect run before it (a streamed source decodes
 * the batch there: batches are then asked for in order, epoch by epoch, from
 * the resumed epoch's batch 0); a failure of `fetch` ends the loop with it.
 */
export type EpochLoop<B = never, E = never> = EpochLoopBase &
  (
    | {
        readonly fetch?: undefined
        /** One optimisation step; returns its loss. May throw (tensor errors): reported as {@link TrainingStepError}. */
        readonly step: (epoch: number, index: number, globalStep: number) => number
      }
    | {
        readonly fetch: (epoch: number, index: number) => Effect.Effect<B, E>
        /** One optimisation step on the fetched data; as above. */
        readonly step: (epoch: number, index: number, globalStep: number, data: B) => number
      }
  )

export interface EpochLoopResult {
  readonly epochLosses: ReadonlyArray<number>
  readonly stepLosses: ReadonlyArray<number>
  /** Epochs run by this call (the rest were restored from the checkpoint). */
  readonly epochsRunHere: number
  readonly startEpoch: number
}

/** Runs `loop` from its last checkpointed epoch to the end. */
export const runEpochs = <B = never, E = never>(loop: EpochLoop<B, E>) =>
  Effect.gen(function* () {
    const ctx = yield* StageContext
    const resumed = yield* loadResume(ctx.scratchDir, loop.vars, loop.run)
    const startEpoch = resumed?.epochsDone ?? 0
    const epochLosses = [...(resumed?.epochLosses ?? [])]
    const stepLosses = [...(resumed?.stepLosses ?? [])]
    const total = loop.epochs * loop.stepsPerEpoch
    if (resumed !== undefined) yield* ctx.log(`resuming at epoch ${startEpoch + 1} of ${loop.epochs} from ${ctx.scratchDir}`)
    for (let epoch = startEpoch; epoch < loop.epochs; epoch++) {
      let sum = 0
      for (let index = 0; index < loop.stepsPerEpoch; index++) {
        const globalStep = epoch * loop.stepsPerEpoch + index
        const step = loop.fetch === undefined ? () => loop.step(epoch, index, globalStep) : yield* Effect.map(loop.fetch(epoch, index), (data) => () => loop.step(epoch, index, globalStep, data))
        const loss = yield* Effect.try({
          try: step,
          catch: (e) => new TrainingStepError({ stage: loop.stage, epoch, step: index, reason: e instanceof Error ? e.message : String(e) }),
        })
        if (!Number.isFinite(loss)) return yield* new NonFiniteLoss({ stage: loop.stage, epoch, step: index, value: loss })
        stepLosses.push(loss)
        sum += loss
        yield* ctx.progress({ done: globalStep + 1, total, note: `epoch ${epoch + 1}/${loop.epochs} loss ${loss.toFixed(4)}` })
        yield* Effect.yieldNow
      }
      epochLosses.push(sum / loop.stepsPerEpoch)
      yield* saveResume(ctx.scratchDir, loop.vars, { run: loop.run, epochsDone: epoch + 1, epochLosses, stepLosses })
      yield* ctx.log(`epoch ${epoch + 1}/${loop.epochs}: mean loss ${(sum / loop.stepsPerEpoch).toFixed(4)} (checkpointed)`)
    }
    // The loss curves, for the runtime's metrics files (every step and epoch, restored ones included).
    const metric = ctx.metric
    if (metric !== undefined) {
      for (let i = 0; i < stepLosses.length; i++) yield* metric({ epoch: Math.floor(i / loop.stepsPerEpoch) + 1, step: i + 1, loss: stepLosses[i]! })
      for (let e = 0; e < epochLosses.length; e++) yield* metric({ epoch: e + 1, loss: epochLosses[e]! })
    }
    return { epochLosses, stepLosses, epochsRunHere: loop.epochs - startEpoch, startEpoch } satisfies EpochLoopResult
  })
