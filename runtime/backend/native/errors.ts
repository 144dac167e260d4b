/**
 * Failure modes of the native (oneDNN) kernel layer. One class per failure
 * mode, the data in fields, a message that says what to do.
 */
import { Data } from "effect"

/** The addon's `.node` file was never built (the usual case without oneDNN). */
export class NativeAddonMissing extends Data.TaggedError("NativeAddonMissing")<{
  readonly path: string
}> {
  override get message(): string {
    return `native CPU kernels not built (${this.path} is absent); build them with \`npm run build:native\` ` +
      `(needs a C++ compiler and libdnnl-dev)`
  }
}

/** The `.node` file exists but Node could not load it (wrong ABI, missing libdnnl.so.2, ...). */
export class NativeAddonLoadFailed extends Data.TaggedError("NativeAddonLoadFailed")<{
  readonly path: string
  readonly cause: string
}> {
  override get message(): string {
    return `native CPU kernels at ${this.path} failed to load: ${this.cause}; rebuild with \`npm run build:native\``
  }
}

/** The native layer was turned off by `SSL_KD_NATIVE=off`. */
export class NativeDisabled extends Data.TaggedError("NativeDisabled")<{}> {
  override get message(): string {
    return "native CPU kernels disabled by SSL_KD_NATIVE=off"
  }
}

/** bf16 matmuls were asked for on a CPU whose oneDNN cannot run them (below AVX-512). */
export class NativeBf16Unsupported extends Data.TaggedError("NativeBf16Unsupported")<{
  /** The ISA oneDNN dispatches to here ("avx2"). */
  readonly isa: string
}> {
  override get message(): string {
    return `bf16 matmuls are not available on this CPU (oneDNN dispatches to ${this.isa}; its bf16 matmuls need AVX-512): use f32`
  }
}
