/**
 * At most `permits` effects at once; a waiter of higher priority goes first,
 * equal priorities in arrival order. The worker pool gives each item its
 * depth in the pipeline, so when a worker frees, a stage whose inputs just
 * finished (an evaluation of a trained student) runs before independent
 * stages that were queued from the start (the next trainings): results come
 * in while a long run goes on instead of all at its end.
 *
 * A dependent is submitted only after the finished item is committed, so
 * a freed permit would go to an older waiter first. The caller can
 * therefore reserve it: `reserve` (asked when the effect ends) names the
 * priority of a waiter about to arrive; the permit waits for one of at least
 * that priority for up to `reserveMs` (default 2 s), then goes to the best
 * waiter as usual.
 */
import { Deferred, Effect, Exit } from "effect"

export interface PriorityGate {
  readonly withPermit: <A, E, R>(priority: number, effect: Effect.Effect<A, E, R>, reserve?: () => number | undefined) => Effect.Effect<A, E, R>
  /** Waiters now (for tests). */
  readonly waiting: () => number
}

export const makePriorityGate = (permits: number, options: { readonly reserveMs?: number } = {}): PriorityGate => {
  let free = Math.max(1, permits)
  let seq = 0
  const queue: Array<{ readonly priority: number; readonly seq: number; readonly wake: Deferred.Deferred<void> }> = []
  /** Freed permits held for an expected waiter of at least `min` priority. */
  const reserved: Array<{ readonly min: number; readonly timer: NodeJS.Timeout }> = []

  /** The best waiter of at least `min` priority (index), or -1. */
  const bestWaiter = (min: number): number => {
    let best = -1
    for (let i = 0; i < queue.length; i++) {
      const w = queue[i]!
      if (w.priority < min) continue
      const b = best < 0 ? undefined : queue[best]!
      if (b === undefined || w.priority > b.priority || (w.priority === b.priority && w.seq < b.seq)) best = i
    }
    return best
  }

  /** Hand a permit to the best waiter, or put it back. */
  const handOff = () => {
    const best = bestWaiter(-Infinity)
    if (best < 0) free++
    else Deferred.doneUnsafe(queue.splice(best, 1)[0]!.wake, Exit.void)
  }

  const release = (reserve?: () => number | undefined) =>
    Effect.sync(() => {
      const min = reserve?.()
      if (min === undefined) return handOff()
      const now = bestWaiter(min)
      if (now >= 0) return void Deferred.doneUnsafe(queue.splice(now, 1)[0]!.wake, Exit.void)
      const timer = setTimeout(() => {
        const i = reserved.findIndex((r) => r.timer === timer)
        if (i < 0) return
        reserved.splice(i, 1)
        handOff()
      }, options.reserveMs ?? 2000)
      timer.unref()
      reserved.push({ min, timer })
    })

  const acquire = (priority: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const r = reserved.findIndex((x) => priority >= x.min)
      if (r >= 0) {
        clearTimeout(reserved.splice(r, 1)[0]!.timer)
        return Effect.void
      }
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
            return release() // woken as it was interrupted: pass the permit on
          }),
        ),
      )
    })

  return {
    withPermit: (priority, effect, reserve) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.andThen(
          restore(acquire(priority)),
          Effect.onExit(restore(effect), (exit) => release(Exit.isSuccess(exit) ? reserve : undefined)),
        ),
      ),
    waiting: () => queue.length,
  }
}
