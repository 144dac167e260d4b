/**
 * Seeds for tfjs's random initialisers (`tf.truncatedNormal`,
 * `tf.randomNormal`, `tf.randomUniform`), derived from a run's seed and the
 * name of what is drawn, never from global state.
 *
 * Two traps this avoids:
 * - tfjs's Gaussian sampler (`MPRandGauss` in `tfjs-core/src/ops/rand_util.ts`,
 *   behind `randomNormal` and `truncatedNormal`) takes `seed ? seed :
 *   Math.random()`: a seed of 0 silently means "unseeded", so a seed must
 *   never be 0;
 * - seeds built by arithmetic (`seed * 1000 + i`) collide across tensors and
 *   seeds (the i-th parameter of two modules, seed 0's parameter 1 and
 *   `seed + 1`), giving them the same random sequence.
 *
 * @example
 * tf.truncatedNormal(shape, 0, 0.02, "float32", initSeed(config.seed, "blocks.0.attn.qkv.weight"))
 */
import { hashKeys } from "../datasets/prng.ts"

/**
 * The seed of the random stream `stream` (e.g. a parameter name) of a run
 * seeded with `seed` (an integer): a hash of both, in 1 .. 2^31 - 1.
 * Different streams or seeds give different values; the same give the same.
 */
export const initSeed = (seed: number, stream: string): number =>
  (hashKeys([seed, ...Array.from(stream, (ch) => ch.codePointAt(0) ?? 0)]) % 0x7fffffff) + 1
