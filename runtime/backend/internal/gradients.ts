/**
 * Registers tfjs-core's gradient functions in Node.
 *
 * Node loads tfjs-core's CommonJS bundle (`dist/tf-core.node.js`), which
 * registers kernels' gradients nowhere: the union package `@tensorflow/tfjs`
 * does it by importing `@tensorflow/tfjs-core/dist/register_all_gradients`,
 * an ES module tree whose relative imports have no file extension, which
 * Node's ESM resolver rejects. A resolve hook, limited to relative imports
 * inside tfjs-core's `dist/`, adds the `.js`. The registrations land in
 * tfjs's process-global gradient registry, shared by both module copies.
 */
import { register } from "node:module"

const hook = `export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? ""
  if ((specifier.startsWith("./") || specifier.startsWith("../")) && parent.includes("/@tensorflow/tfjs-core/dist/") && !/\\.[cm]?js$/.test(specifier)) {
    try { return await next(specifier + ".js", context) } catch { return next(specifier + "/index.js", context) }
  }
  return next(specifier, context)
}`

let registered: Promise<void> | undefined

/** Idempotent: the first call loads the gradients (under a second), later ones reuse it. */
export const registerTfjsGradients = (): Promise<void> => {
  if (registered === undefined) {
    register(`data:text/javascript,${encodeURIComponent(hook)}`)
    const specifier = "@tensorflow/tfjs-core/dist/register_all_gradients.js"
    registered = import(specifier).then(() => undefined)
  }
  return registered
}
