/**
 * Runs a numeric suite once per tensor backend installed here, like tfjs's
 * `describeWithFlags(name, ALL_ENVS, ...)`: wasm and cpu on this machine,
 * node / node-gpu where those packages exist.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { beforeAll, describe } from "vitest"
import { availableBackends, type BackendName, selectBackend } from "../../../runtime/backend/TensorBackend.ts"

/** Backends whose packages load in this process. */
export const installedBackends: ReadonlyArray<BackendName> = await Effect.runPromise(availableBackends())

/** The preferred backend, active once this module is imported (suites switch per `describe`). */
export const defaultBackend = await Effect.runPromise(selectBackend())

/** `describe` the suite once per installed backend, activating it first. */
export const describeEachBackend = (title: string, suite: (backend: BackendName) => void): void => {
  for (const backend of installedBackends) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await Effect.runPromise(selectBackend({ flag: backend }))
      })
      suite(backend)
    })
  }
}

/** Runs `f` and asserts that it leaves the number of live tensors unchanged. */
export const withoutLeaks = async <A>(f: () => A | Promise<A>): Promise<{ value: A; leaked: number }> => {
  const before = tf.memory().numTensors
  const value = await f()
  return { value, leaked: tf.memory().numTensors - before }
}
