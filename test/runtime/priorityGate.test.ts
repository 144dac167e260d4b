/** The worker pool's priority gate (runtime/executor/pool/priorityGate.ts): order, interruption, permits kept. */
import { Deferred, Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { makePriorityGate } from "../../runtime/executor/pool/priorityGate.ts"

const settle = Effect.promise(() => new Promise((r) => setTimeout(r, 20)))

describe("priority gate", () => {
  it("a freed permit goes to the highest priority waiting, equal priorities in arrival order", async () => {
    const order = await Effect.runPromise(
      Effect.gen(function* () {
        const gate = makePriorityGate(1)
        const order: Array<string> = []
        const hold = yield* Deferred.make<void>()
        const first = yield* Effect.forkChild(gate.withPermit(0, Effect.andThen(Deferred.await(hold), Effect.sync(() => void order.push("first")))))
        yield* settle
        const fibers = []
        for (const [name, priority] of [["train-2", 0], ["train-3", 0], ["eval-1", 2], ["report", 3], ["train-4", 0]] as const) {
          fibers.push(yield* Effect.forkChild(gate.withPermit(priority, Effect.sync(() => void order.push(name)))))
          yield* settle
        }
        expect(gate.waiting()).toBe(5)
        yield* Deferred.succeed(hold, undefined)
        yield* Fiber.join(first)
        for (const f of fibers) yield* Fiber.join(f)
        return order
      }),
    )
    expect(order).toEqual(["first", "report", "eval-1", "train-2", "train-3", "train-4"])
  })

  it("a permit reserved for a dependent about to arrive waits for it, then for nobody longer than reserveMs", async () => {
    const order = await Effect.runPromise(
      Effect.gen(function* () {
        const gate = makePriorityGate(1, { reserveMs: 300 })
        const order: Array<string> = []
        const hold = yield* Deferred.make<void>()
        const trained = yield* Effect.forkChild(gate.withPermit(1, Effect.andThen(Deferred.await(hold), Effect.sync(() => void order.push("train-a"))), () => 2))
        yield* settle
        const next = yield* Effect.forkChild(gate.withPermit(1, Effect.sync(() => void order.push("train-b")), () => 2))
        yield* settle
        yield* Deferred.succeed(hold, undefined)
        yield* Fiber.join(trained)
        yield* settle // train-b waits: the permit is held for eval-a
        expect(order).toEqual(["train-a"])
        yield* Effect.forkChild(gate.withPermit(2, Effect.sync(() => void order.push("eval-a"))))
        yield* Fiber.join(next) // after train-b, its reservation finds no one and lapses after 300 ms
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 400)))
        const later = yield* Effect.forkChild(gate.withPermit(0, Effect.sync(() => void order.push("other"))))
        yield* Fiber.join(later)
        return order
      }),
    )
    expect(order).toEqual(["train-a", "eval-a", "train-b", "other"])
  })

  it("an interrupted waiter leaves the queue; the permits are all there afterwards", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const gate = makePriorityGate(2)
        const hold = yield* Deferred.make<void>()
        const holders = [yield* Effect.forkChild(gate.withPermit(0, Deferred.await(hold))), yield* Effect.forkChild(gate.withPermit(0, Deferred.await(hold)))]
        yield* settle
        const waiter = yield* Effect.forkChild(gate.withPermit(5, Effect.succeed("ran")))
        yield* settle
        expect(gate.waiting()).toBe(1)
        yield* Fiber.interrupt(waiter)
        expect(gate.waiting()).toBe(0)
        // a holder interrupted while it runs gives its permit back too
        yield* Fiber.interrupt(holders[0]!)
        yield* Deferred.succeed(hold, undefined)
        yield* Fiber.join(holders[1]!)
        // two permits free again: two effects run at once
        const both = yield* Deferred.make<void>()
        let inside = 0
        const pair = [0, 1].map(() => gate.withPermit(0, Effect.andThen(Effect.sync(() => void inside++), Deferred.await(both))))
        const fs = [yield* Effect.forkChild(pair[0]!), yield* Effect.forkChild(pair[1]!)]
        yield* settle
        const concurrent = inside
        yield* Deferred.succeed(both, undefined)
        for (const f of fs) yield* Fiber.join(f)
        return concurrent
      }),
    )
    expect(result).toBe(2)
  })
})
