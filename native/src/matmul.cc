// Batched matrix products on oneDNN's matmul primitive, f32 or bf16 inputs
// with f32 accumulation and output. Transposed operands are described by
// strides (no copy); primitives are created once per shape and cached.
#include <oneapi/dnnl/dnnl.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <omp.h>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>
#include "kernels.h"

namespace sslkd {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

struct Cached {
  dnnl::matmul prim;
  memory::desc a, b, c, bias;
};

std::unordered_map<std::string, Cached>& cache() {
  static std::unordered_map<std::string, Cached> c;
  return c;
}

/** Logical [batch, rows, cols] of an operand stored [batch, rows, cols], or [batch, cols, rows] when transposed. */
memory::desc operandDesc(int64_t batch, int64_t rows, int64_t cols, bool trans, dt type, bool batched) {
  if (!batched) {
    memory::dims strides = trans ? memory::dims{1, rows} : memory::dims{cols, 1};
    return memory::desc({rows, cols}, type, strides);
  }
  memory::dims strides = trans ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1};
  return memory::desc({batch, rows, cols}, type, strides);
}

/** Threads for large products (`setThreads`, else OpenMP's default: the core count). */
int& maxThreads() {
  static int n = omp_get_max_threads();
  return n;
}

/**
 * Below this many flops a product runs on one thread: waking a second
 * OpenMP thread costs microseconds when the cores are idle and milliseconds
 * when other processes hold them, more than the product itself.
 */
constexpr double kParallelFlops = 4e6;

/** Whether setThreads pinned the thread count (no tuning then). */
bool& pinned() {
  static bool p = false;
  return p;
}

/**
 * Per-shape choice between 1 thread and all of them, by measured wall time.
 * On an idle machine two threads halve a large product; on a loaded one
 * (other processes holding the cores) each OpenMP barrier waits for a
 * descheduled thread, and one thread is faster (measured: a ViT-Ti step's
 * products 540 ms on 1 thread, 570-990 ms on 2 at load average 5 on 2
 * cores). Each arm's first call is a warm-up and not counted (it creates the
 * primitive and, for 2 threads, wakes the OpenMP pool); then the arms
 * alternate until each has 3 timed calls, and each keeps a moving average of
 * its time. The slower one is retried so the choice follows the machine's
 * load: every 16th call while the arms are within 1.5x of each other, every
 * 64th when the slower one is further behind (retries of a 2x slower arm then
 * cost ~1.5%; every 16th cost ~6%, measured 30-40 ms of a 410 ms ViT-Ti step
 * on an idle machine against pinned 2 threads). (Before: each arm's
 * first sample, warm-up included, weighed 70% in its average and retries came
 * every 32nd call, so a benchmark of a few steps could keep the wrong arm
 * throughout.)
 */
struct Tune {
  double ms[2] = {0.0, 0.0};
  int samples[2] = {0, 0};
  int warm[2] = {0, 0};
  uint64_t calls = 0;
};

std::unordered_map<std::string, Tune>& tunes() {
  static std::unordered_map<std::string, Tune> t;
  return t;
}

constexpr int kExplore = 3;
constexpr uint64_t kRetryClose = 16, kRetryFar = 64;
constexpr double kFar = 1.5;

int chooseArm(Tune& t) {
  t.calls++;
  if (t.samples[0] < kExplore || t.samples[1] < kExplore) {
    if (t.samples[1] + t.warm[1] <= t.samples[0] + t.warm[0]) return 1;
    return 0;
  }
  const int best = t.ms[0] <= t.ms[1] ? 0 : 1;
  const uint64_t every = t.ms[1 - best] >= kFar * t.ms[best] ? kRetryFar : kRetryClose;
  return t.calls % every == 0 ? 1 - best : best;
}

void record(Tune& t, int arm, double ms) {
  if (t.warm[arm] == 0) {
    t.warm[arm] = 1;
    return;
  }
  t.ms[arm] = t.samples[arm] == 0 ? ms : 0.7 * t.ms[arm] + 0.3 * ms;
  t.samples[arm]++;
}

const Cached& primitive(int64_t batchA, int64_t batchB, int64_t m, int64_t k, int64_t n, bool transA, bool transB,
                        bool bf16, bool bias, int nthr) {
  std::ostringstream key;
  key << batchA << ',' << batchB << ',' << m << ',' << k << ',' << n << ',' << transA << transB << bf16 << bias << ','
      << nthr;
  auto& c = cache();
  auto it = c.find(key.str());
  if (it != c.end()) return it->second;
  const bool batched = batchA != 1 || batchB != 1;
  const int64_t batch = batchA > batchB ? batchA : batchB;
  const dt in = bf16 ? dt::bf16 : dt::f32;
  Cached e;
  e.a = operandDesc(batchA, m, k, transA, in, batched);
  e.b = operandDesc(batchB, k, n, transB, in, batched);
  e.c = batched ? memory::desc({batch, m, n}, dt::f32, tag::abc) : memory::desc({m, n}, dt::f32, tag::ab);
  if (bias) e.bias = batched ? memory::desc({1, 1, n}, dt::f32, tag::abc) : memory::desc({1, n}, dt::f32, tag::ab);
  dnnl::matmul::desc d = bias ? dnnl::matmul::desc(e.a, e.b, e.bias, e.c) : dnnl::matmul::desc(e.a, e.b, e.c);
  dnnl::matmul::primitive_desc pd(d, cpuEngine());
  e.prim = dnnl::matmul(pd);
  return c.emplace(key.str(), std::move(e)).first->second;
}

/** f32 -> bf16 with round-to-nearest-even (NaN kept quiet). */
void toBf16(const float* src, uint16_t* dst, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, &src[i], 4);
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    dst[i] = nan ? static_cast<uint16_t>((u >> 16) | 0x40u) : static_cast<uint16_t>(rounded);
  }
}

}  // namespace

void matmul(const float* a, const float* b, float* out, int64_t batchA, int64_t batchB, int64_t m, int64_t k,
            int64_t n, bool transA, bool transB, bool bf16, const float* bias) {
  static std::mutex lock;  // the primitive cache and scratch buffers are shared
  std::lock_guard<std::mutex> guard(lock);
  const double flops = 2.0 * static_cast<double>(batchA > batchB ? batchA : batchB) * m * k * n;
  const bool tuned = flops >= kParallelFlops && maxThreads() > 1 && !pinned();
  Tune* tune = nullptr;
  int arm = 1;
  if (tuned) {
    std::ostringstream key;
    key << batchA << ',' << batchB << ',' << m << ',' << k << ',' << n << ',' << transA << transB << bf16
        << (bias != nullptr);
    tune = &tunes()[key.str()];
    arm = chooseArm(*tune);
  }
  const int nthr = flops < kParallelFlops || arm == 0 ? 1 : maxThreads();
  omp_set_num_threads(nthr);  // oneDNN sizes its parallel regions by omp_get_max_threads()
  const Cached& p = primitive(batchA, batchB, m, k, n, transA, transB, bf16, bias != nullptr, nthr);
  auto& eng = cpuEngine();
  const auto start = std::chrono::steady_clock::now();
  std::unordered_map<int, memory> args;
  if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, memory(p.bias, eng, const_cast<float*>(bias)));
  args.emplace(DNNL_ARG_DST, memory(p.c, eng, out));
  if (!bf16) {
    args.emplace(DNNL_ARG_SRC, memory(p.a, eng, const_cast<float*>(a)));
    args.emplace(DNNL_ARG_WEIGHTS, memory(p.b, eng, const_cast<float*>(b)));
    p.prim.execute(cpuStream(), args);
  } else {
    static std::vector<uint16_t> sa, sb;
    const int64_t na = batchA * m * k, nb = batchB * k * n;
    if (static_cast<int64_t>(sa.size()) < na) sa.resize(na);
    if (static_cast<int64_t>(sb.size()) < nb) sb.resize(nb);
    toBf16(a, sa.data(), na);
    toBf16(b, sb.data(), nb);
    args.emplace(DNNL_ARG_SRC, memory(p.a, eng, sa.data()));
    args.emplace(DNNL_ARG_WEIGHTS, memory(p.b, eng, sb.data()));
    p.prim.execute(cpuStream(), args);
  }
  cpuStream().wait();
  if (tune != nullptr) {
    record(*tune, arm, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
}

void runTuned(const std::string& key, bool parallel, const std::function<void(int)>& body) {
  if (!parallel || maxThreads() <= 1) return body(1);
  if (pinned()) return body(maxThreads());
  static std::mutex lock;
  static std::unordered_map<std::string, Tune> own;
  Tune* tune;
  int arm;
  {
    std::lock_guard<std::mutex> guard(lock);
    tune = &own[key];
    arm = chooseArm(*tune);
  }
  const auto start = std::chrono::steady_clock::now();
  body(arm == 0 ? 1 : maxThreads());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard<std::mutex> guard(lock);
  record(*tune, arm, ms);
}

void setThreads(int n) {
  maxThreads() = n;
  pinned() = true;
  omp_set_num_threads(n);
}

std::string dnnlInfo() {
  const dnnl_version_t* v = dnnl_version();
  const char* isa = "unknown";
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
    case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl_cpu_isa_avx2: isa = "avx2"; break;
    case dnnl_cpu_isa_avx: isa = "avx"; break;
    case dnnl_cpu_isa_sse41: isa = "sse41"; break;
    default: break;
  }
  std::ostringstream s;
  s << "oneDNN " << v->major << '.' << v->minor << '.' << v->patch << ", " << isa << ", " << maxThreads()
    << (maxThreads() == 1 ? " thread" : " threads");
  return s.str();
}

}  // namespace sslkd
