/**
 * At most `permits` effects at once; a waiter of higher priority goes first,
 * equal priorities in arrival order. The worker pool gives each item its
 * depth in the pipeline, so when a worker frees, a stage whose inputs just
 * finished (an evaluation of a trained student) runs before independent
 * stages that were queued from the start (the next trainings): results come
 * in while a long run goes on instead of all at its end.
 */
import { Deferred, Effect, Exit } from "effect"

export interface PriorityGate {
  readonly withPermit: <A, E, R>(priority: number, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Waiters now (for tests). */
  readonly waiting: () => number
}

export const makePriorityGate = (permits: number): PriorityGate => {
  let free = Math.max(1, permits)
  let seq = 0
  const queue: Array<{ readonly priority: number; readonly seq: number; readonly wake: Deferred.Deferred<void> }> = []

  /** Hand the permit to the best waiter, or put it back. */
  const release = Effect.sync(() => {
    let best = -1
    for (let i = 0; i < queue.length; i++) {
      const w = queue[i]!
      const b = best < 0 ? undefined : queue[best]!
      if (b === undefined || w.priority > b.priority || (w.priority === b.priority && w.seq < b.seq)) best = i
    }
    if (best < 0) free++
    else Deferred.doneUnsafe(queue.splice(best, 1)[0]!.wake, Exit.void)
  })

  const acquire = (priority: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (free > 0 && queue.length === 0) {
        free--
        return Effect.void
      }
      const w = { priority, seq: seq++, wake: Deferred.makeUnsafe<void>() }
      queue.push(w)
      return Deferred.await(w.wake).pipe(
        Effect.onInterrupt(() =>
          Effect.suspend(() => {
            const i = queue.indexOf(w)
            if (i >= 0) {
              queue.splice(i, 1)
              return Effect.void
            }
            return release // woken as it was interrupted: pass the permit on
          }),
        ),
      )
    })

  return {
    withPermit: (priority, effect) =>
      Effect.uninterruptibleMask((restore) => Effect.andThen(restore(acquire(priority)), restore(effect).pipe(Effect.ensuring(release)))),
    waiting: () => queue.length,
  }
}
