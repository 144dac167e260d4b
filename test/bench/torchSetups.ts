/**
 * The PyTorch reference's thread and BLAS setups (issue 16: "measure against
 * the strongest honest reference"). Debian's PyTorch runs its fp32 matmuls on
 * the system OpenBLAS (`libopenblas0-pthread` by default) and everything else
 * on OpenMP threads; the two thread pools then compete for the same cores,
 * which measured here (2 cores, quiet) at 300 img/s for the student step
 * against 816-820 with either of the other two setups below. No one setup is
 * best for every step, so the benches measure each present setup in every
 * round and report, per step and precision, the setup with the best median,
 * named.
 *
 * Every setup runs without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (this
 * workplace sets them; under them OpenBLAS picks older kernels).
 */
import { existsSync } from "node:fs"
import { cpus } from "node:os"

export interface TorchSetup {
  /** Short name, printed beside each figure it won. */
  readonly name: string
  readonly description: string
  readonly env: NodeJS.ProcessEnv
  /** Extra arguments for torch_steps.py / torch_vit.py. */
  readonly args: ReadonlyArray<string>
}

/** Where Debian's `libopenblas0-openmp` puts its BLAS (the variant built on the same OpenMP runtime as PyTorch). */
export const openmpOpenBlasDir = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

/** This process's environment without the workplace's OpenBLAS overrides. */
export const torchBaseEnv = (): NodeJS.ProcessEnv => {
  const { OPENBLAS_CORETYPE: _core, OPENBLAS_L2_SIZE: _l2, ...rest } = process.env
  return rest
}

/**
 * The setups present on this machine. `threads` (the benches' `--threads`)
 * fixes PyTorch's intra-op threads in every setup; without it the machine's
 * cores are used, plus a one-thread PyTorch setup whose OpenBLAS keeps its own
 * threads. `only` keeps the named setups (`--torch-setups a,b`).
 */
export const torchSetups = (threads: string | undefined, only?: ReadonlyArray<string>): ReadonlyArray<TorchSetup> => {
  const base = torchBaseEnv()
  const t = threads ?? String(cpus().length)
  const all: Array<TorchSetup> = [
    {
      name: "pthread",
      description: `Debian default: OpenBLAS (pthreads) for fp32 matmuls, ${t} PyTorch threads`,
      env: base,
      args: ["--threads", t],
    },
    ...(existsSync(`${openmpOpenBlasDir}/libblas.so.3`)
      ? [{
        name: "openmp",
        description: `OpenBLAS built on OpenMP (libopenblas0-openmp, via LD_LIBRARY_PATH for this command), ${t} PyTorch threads`,
        env: { ...base, LD_LIBRARY_PATH: [openmpOpenBlasDir, base["LD_LIBRARY_PATH"]].filter(Boolean).join(":") },
        args: ["--threads", t],
      }]
      : []),
    ...(threads === undefined && cpus().length > 1
      ? [{
        name: "torch1",
        description: `1 PyTorch thread, OpenBLAS (pthreads) with its own ${cpus().length} threads for fp32 matmuls`,
        env: base,
        args: ["--threads", "1"],
      }]
      : []),
  ]
  return only === undefined ? all : all.filter((s) => only.includes(s.name))
}

/** A line saying which setups are measured and, when the OpenMP OpenBLAS is absent, how to add it. */
export const torchSetupsNote = (setups: ReadonlyArray<TorchSetup>): string =>
  [
    `PyTorch setups measured each round (the best median per step is reported): ${setups.map((s) => `${s.name} (${s.description})`).join("; ")}`,
    ...(setups.some((s) => s.name === "openmp") || existsSync(`${openmpOpenBlasDir}/libblas.so.3`)
      ? []
      : ["(apt-get install libopenblas0-openmp adds the setup that was fastest for most fp32 steps here)"]),
  ].join("\n")
