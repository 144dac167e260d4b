/**
 * Registries: plugins by name (timm's `register_model`, torchdistill's
 * `register_loss`), one class for models, datasets, dataset readers, losses
 * and teachers, with one set of verbs:
 * - `register(name, value)` adds a value; a taken name fails with
 *   {@link DuplicateNameError} (never a silent overwrite);
 * - `get(name)` returns it, or fails with {@link UnknownNameError} naming the
 *   known names and the close ones ("did you mean");
 * - `names()`, `has(name)`, `values()`, `registration(name)`.
 *
 * Each registration records where it was made (the caller of `register`). The
 * runtime uses that site as it uses a stage's: a stage whose config names a
 * registered value (a teacher "ibot", a loss "my-kd") has the code at the
 * registration site, and everything it reaches, in its cache key, and the
 * pool worker running the stage imports that module first. So a plugin
 * registered from a user's own file is as much part of the key as the
 * library's own, and is present in every worker.
 *
 * @example
 * const losses = new Registry<LossEntry>("loss")
 * Effect.runSync(losses.register("my-kd", myKd))
 * const entry = yield* losses.get("my-kd")
 */
import { Effect } from "effect"
import { DuplicateNameError, UnknownNameError } from "./errors.ts"
import { callerSite, type SourceLocation } from "./internal/site.ts"
import { suggest } from "./Names.ts"

/** One registered value and where it was registered. */
export interface Registration<V> {
  readonly name: string
  readonly value: V
  /** The `register` call's position (undefined when the stack had none). */
  readonly site: SourceLocation | undefined
}

/** What every registry answers, whatever it holds (what the runtime reads). */
export interface AnyRegistry {
  readonly what: string
  has(name: string): boolean
  registration(name: string): Registration<unknown> | undefined
}

const made: Array<WeakRef<AnyRegistry>> = []

/** Every registry created in this process (live ones), in creation order. */
export const allRegistries = (): ReadonlyArray<AnyRegistry> => made.flatMap((r) => {
  const v = r.deref()
  return v === undefined ? [] : [v]
})

const siteText = (s: SourceLocation | undefined): string | undefined => (s === undefined ? undefined : `${s.file}:${s.line}`)

/**
 * A registry of `V` by name. `E`: what `validate` (given to the constructor)
 * fails a registration with, e.g. a model config that cannot build a ViT.
 */
export class Registry<V, E = never> implements AnyRegistry {
  readonly #entries = new Map<string, Registration<V>>()
  readonly #validate: ((name: string, value: V) => E | undefined) | undefined

  /** `what`: the kind of value, in words, as errors name it ("model", "dataset reader"). */
  constructor(
    readonly what: string,
    options: { readonly validate?: (name: string, value: V) => E | undefined } = {},
  ) {
    this.#validate = options.validate
    made.push(new WeakRef(this))
  }

  /**
   * Adds `value` under `name`. `site` defaults to the caller of `register`; a
   * wrapper that registers on a user's behalf passes `callerSite()` from its
   * own body, which is the user's line.
   */
  register(name: string, value: V, site: SourceLocation | undefined = callerSite()): Effect.Effect<void, DuplicateNameError | E> {
    return Effect.suspend((): Effect.Effect<void, DuplicateNameError | E> => {
      const taken = this.#entries.get(name)
      if (taken !== undefined) return Effect.fail(new DuplicateNameError({ what: this.what, name, registeredAt: siteText(taken.site) }))
      const bad = this.#validate?.(name, value)
      if (bad !== undefined) return Effect.fail(bad)
      this.#entries.set(name, { name, value, site })
      return Effect.void
    })
  }

  /** Registered names, sorted. */
  names(): ReadonlyArray<string> {
    return [...this.#entries.keys()].sort()
  }

  has(name: string): boolean {
    return this.#entries.has(name)
  }

  /** Registered values, by sorted name. */
  values(): ReadonlyArray<V> {
    return this.names().map((n) => this.#entries.get(n)!.value)
  }

  registration(name: string): Registration<V> | undefined {
    return this.#entries.get(name)
  }

  /** The value under `name`, or {@link UnknownNameError} naming the known names and the close ones. */
  get(name: string): Effect.Effect<V, UnknownNameError> {
    return Effect.suspend(() => {
      const entry = this.#entries.get(name)
      if (entry !== undefined) return Effect.succeed(entry.value)
      const known = this.names()
      return Effect.fail(new UnknownNameError({ what: this.what, name, known, suggestions: suggest(name, known) }))
    })
  }
}
