// The fused attention core of a ViT block (issue 16) and its gradient: from
// the qkv Linear's output [B, N, 3·H·Dh] (timm's order: q of every head, then
// k, then v) straight to the heads' merged output [B, N, H·Dh] and the
// attention maps [B, H, N, N], one pass per (image, head), instead of the
// transpose, split, scale, two batched products, softmax and merge transpose
// (and as many gradient ops) of the composite path in plugins/models/ops/attention.ts.
// At the small widths of the pipelines (Dh 16-64, N ~50) those ops cost more
// in dispatch and memory traffic than in arithmetic.
//
//   S = (Dh^-1/2 · q) · kᵀ,  A = softmax(S) (rows),  out = A · v
//   dA = dOut · vᵀ + dAttn,  dv = Aᵀ · dOut,  dS = A ∘ (dA - rowsum(dA ∘ A)),
//   dq = Dh^-1/2 · dS · k,   dk = dSᵀ · (Dh^-1/2 · q)
//
// Every product runs as "row times matrix" with the row's accumulators in
// vector registers (rowProduct): a head's q, k and v are first copied into
// small contiguous, zero-padded panels (kᵀ and vᵀ transposed), so each of the
// four products of the gradient (dA = dOut·vᵀ, dq = dS·k, dk = dSᵀ·q,
// dv = Aᵀ·dOut) reads one panel row per multiply-add. (The first version
// accumulated in memory, one pass over the output row per inner index, and
// was slower than the composite path.)
//
// Units (image, head) are independent and write disjoint outputs; split()
// spreads them over the cores when that measured faster.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>
#include "fastmath.h"
#include "kernels.h"
#include "split.h"

namespace sslkd {

namespace {

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));  // unaligned loads and stores

constexpr int64_t kLanes = 8;
inline int64_t padded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

/** out[0 : 8·NV] = Σ_{k < K} x[k·xs] · M[k·ld + (0 : 8·NV)], the accumulators in registers. */
template <int NV>
inline void rowProductBlock(const float* x, int64_t xs, int64_t K, const float* M, int64_t ld, float* out) {
  v8 acc[NV];
  for (int t = 0; t < NV; t++) acc[t] = v8{};
  for (int64_t k = 0; k < K; k++) {
    const float xk = x[k * xs];
    const float* m = M + k * ld;
    for (int t = 0; t < NV; t++) acc[t] += xk * *reinterpret_cast<const v8u*>(m + t * kLanes);
  }
  for (int t = 0; t < NV; t++) *reinterpret_cast<v8u*>(out + t * kLanes) = acc[t];
}

/**
 * Two rows at once, out_r[0 : 8·NV] = Σ_k x_r[k] · M[k·ld + (0 : 8·NV)] for r = 0, 1: for narrow outputs
 * (NV <= 4) one row has too few independent accumulators to hide the multiply-add latency, and the pair
 * shares each load of M.
 */
template <int NV>
inline void rowPairBlock(const float* x0, const float* x1, int64_t xs, int64_t K, const float* M, int64_t ld, float* out0, float* out1) {
  v8 a0[NV], a1[NV];
  for (int t = 0; t < NV; t++) a0[t] = a1[t] = v8{};
  for (int64_t k = 0; k < K; k++) {
    const float y0 = x0[k * xs], y1 = x1[k * xs];
    const float* m = M + k * ld;
    for (int t = 0; t < NV; t++) {
      const v8 mv = *reinterpret_cast<const v8u*>(m + t * kLanes);
      a0[t] += y0 * mv;
      a1[t] += y1 * mv;
    }
  }
  for (int t = 0; t < NV; t++) {
    *reinterpret_cast<v8u*>(out0 + t * kLanes) = a0[t];
    *reinterpret_cast<v8u*>(out1 + t * kLanes) = a1[t];
  }
}

/** out[0 : width] = Σ_{k < K} x[k·xs] · M[k·ld + (0 : width)]; width a multiple of 8, M's rows at least that wide. */
inline void rowProduct(const float* x, int64_t xs, int64_t K, const float* M, int64_t ld, float* out, int64_t width) {
  for (int64_t c0 = 0; c0 < width; c0 += 8 * kLanes) {
    const int64_t nv = std::min<int64_t>(8, (width - c0) / kLanes);
    const float* m = M + c0;
    float* o = out + c0;
    switch (nv) {
      case 8: rowProductBlock<8>(x, xs, K, m, ld, o); break;
      case 7: rowProductBlock<7>(x, xs, K, m, ld, o); break;
      case 6: rowProductBlock<6>(x, xs, K, m, ld, o); break;
      case 5: rowProductBlock<5>(x, xs, K, m, ld, o); break;
      case 4: rowProductBlock<4>(x, xs, K, m, ld, o); break;
      case 3: rowProductBlock<3>(x, xs, K, m, ld, o); break;
      case 2: rowProductBlock<2>(x, xs, K, m, ld, o); break;
      default: rowProductBlock<1>(x, xs, K, m, ld, o); break;
    }
  }
}

/** dst[c·ldDst + r] = src[r·ldSrc + c] for r < rows, c < cols, in 8 x 8 tiles (both sides touch few cache lines at a time). */
inline void transposeInto(const float* src, int64_t ldSrc, int64_t rows, int64_t cols, float* dst, int64_t ldDst) {
  for (int64_t r0 = 0; r0 < rows; r0 += kLanes) {
    const int64_t r1 = std::min(rows, r0 + kLanes);
    for (int64_t c0 = 0; c0 < cols; c0 += kLanes) {
      const int64_t c1 = std::min(cols, c0 + kLanes);
      for (int64_t c = c0; c < c1; c++)
        for (int64_t r = r0; r < r1; r++) dst[c * ldDst + r] = src[r * ldSrc + c];
    }
  }
}

/**
 * out[r·ldOut + (0 : width)] = Σ_{k < K} x[r·ldX + k·xs] · M[k·ld + (0 : width)] for r < rows: rowProduct
 * for every row, rows taken in pairs where the output is at most 32 wide. With ldX = 1 and xs = the row
 * length, the rows of x are the columns of a row-major matrix: a product with its transpose, no copy.
 */
inline void rowsProduct(const float* x, int64_t ldX, int64_t xs, int64_t rows, int64_t K, const float* M, int64_t ld,
                        float* out, int64_t ldOut, int64_t width) {
  int64_t r = 0;
  if (width <= 4 * kLanes) {
    for (; r + 1 < rows; r += 2) {
      const float *x0 = x + r * ldX, *x1 = x0 + ldX;
      float *o0 = out + r * ldOut, *o1 = o0 + ldOut;
      switch (width / kLanes) {
        case 4: rowPairBlock<4>(x0, x1, xs, K, M, ld, o0, o1); break;
        case 3: rowPairBlock<3>(x0, x1, xs, K, M, ld, o0, o1); break;
        case 2: rowPairBlock<2>(x0, x1, xs, K, M, ld, o0, o1); break;
        default: rowPairBlock<1>(x0, x1, xs, K, M, ld, o0, o1); break;
      }
    }
  }
  for (; r < rows; r++) rowProduct(x + r * ldX, xs, K, M, ld, out + r * ldOut, width);
}

/**
 * Asks for the cache lines of `rows` rows of `width` floats, `ld` apart: a head's q, k and v are short
 * pieces of long rows, a pattern the hardware prefetcher does not follow, so each unit fetches the next one's.
 */
inline void prefetchRows(const float* p, int64_t rows, int64_t ld, int64_t width) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < width; c += 16) __builtin_prefetch(p + r * ld + c);
}

/** dst[0 : n] = src[0 : n] for the short rows here (a libc call per 80-128 bytes cost more than the copy). */
inline void copyRow(float* dst, const float* src, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) dst[i] = src[i];
}


}  // namespace

void attentionCore(const float* qkv, float* out, float* attn, int64_t batch, int64_t tokens, int64_t heads, int64_t dh,
                   float scale) {
  const int64_t d = heads * dh, row = 3 * d, n = tokens, np = padded(n), dhp = padded(dh);
  split("attentionCore", batch * heads, batch * heads * n * n, [&](int64_t u0, int64_t u1) {
    // Panels, zero-padded (the padding is never overwritten): scaled q [n, dhp], kᵀ [dh, np], v [n, dhp];
    // the maps S -> A [n, np] and the outputs [n, dhp].
    std::vector<float> qp(n * dhp, 0.0f), kt(dh * np, 0.0f), vp(n * dhp, 0.0f), s(n * np), o(n * dhp);
    for (int64_t u = u0; u < u1; u++) {
      const int64_t b = u / heads, h = u % heads;
      const float* base = qkv + b * n * row + h * dh;
      if (u + 1 < u1) {
        const float* next = qkv + (u + 1) / heads * n * row + (u + 1) % heads * dh;
        for (int part = 0; part < 3; part++) prefetchRows(next + part * d, n, row, dh);
      }
      for (int64_t j = 0; j < n; j++) {
        const float* q = base + j * row;
        float* qj = qp.data() + j * dhp;
#pragma omp simd
        for (int64_t c = 0; c < dh; c++) qj[c] = q[c] * scale;
        copyRow(vp.data() + j * dhp, q + 2 * d, dh);
      }
      transposeInto(base + d, row, n, dh, kt.data(), np);
      float* a = attn + u * n * n;
      rowsProduct(qp.data(), dhp, 1, n, dh, kt.data(), np, s.data(), np, np);
      for (int64_t i = 0; i < n; i++) {
        softmaxRow(s.data() + i * np, s.data() + i * np, n);
        copyRow(a + i * n, s.data() + i * np, n);
      }
      rowsProduct(s.data(), np, 1, n, n, vp.data(), dhp, o.data(), dhp, dhp);
      for (int64_t i = 0; i < n; i++) copyRow(out + (b * n + i) * d + h * dh, o.data() + i * dhp, dh);
    }
  });
}

void attentionCoreGrad(const float* qkv, const float* attn, const float* dOut, const float* dAttn, float* dqkv,
                       int64_t batch, int64_t tokens, int64_t heads, int64_t dh, float scale) {
  const int64_t d = heads * dh, row = 3 * d, n = tokens, np = padded(n), dhp = padded(dh);
  split("attentionCoreGrad", batch * heads, batch * heads * n * n, [&](int64_t u0, int64_t u1) {
    // Panels, zero-padded: scaled q, k and dOut [n, dhp]; vᵀ [dh, np]; dA -> dS [n, np].
    std::vector<float> qp(n * dhp, 0.0f), kp(n * dhp, 0.0f), gop(n * dhp, 0.0f), vt(dh * np, 0.0f);
    std::vector<float> ds(n * np), tmp(n * dhp);
    for (int64_t u = u0; u < u1; u++) {
      const int64_t b = u / heads, h = u % heads;
      const float* base = qkv + b * n * row + h * dh;
      float* gbase = dqkv + b * n * row + h * dh;
      if (u + 1 < u1) {
        const int64_t b1 = (u + 1) / heads, h1 = (u + 1) % heads;
        const float* next = qkv + b1 * n * row + h1 * dh;
        for (int part = 0; part < 3; part++) prefetchRows(next + part * d, n, row, dh);
        prefetchRows(dOut + b1 * n * d + h1 * dh, n, d, dh);
      }
      const float* a = attn + u * n * n;
      const float* da0 = dAttn == nullptr ? nullptr : dAttn + u * n * n;
      for (int64_t j = 0; j < n; j++) {
        const float* q = base + j * row;
        float* qj = qp.data() + j * dhp;
#pragma omp simd
        for (int64_t c = 0; c < dh; c++) qj[c] = q[c] * scale;
        copyRow(kp.data() + j * dhp, q + d, dh);
        copyRow(gop.data() + j * dhp, dOut + (b * n + j) * d + h * dh, dh);
      }
      transposeInto(base + 2 * d, row, n, dh, vt.data(), np);
      // dA = dOut · vᵀ (+ dAttn), then row by row dS = A ∘ (dA - Σ dA ∘ A), in the panel ds [n, np].
      rowsProduct(gop.data(), dhp, 1, n, dh, vt.data(), np, ds.data(), np, np);
      for (int64_t i = 0; i < n; i++) {
        const float* ai = a + i * n;
        float* di = ds.data() + i * np;
        if (da0 != nullptr) {
          const float* dai = da0 + i * n;
#pragma omp simd
          for (int64_t j = 0; j < n; j++) di[j] += dai[j];
        }
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < n; j++) dot += di[j] * ai[j];
#pragma omp simd
        for (int64_t j = 0; j < n; j++) di[j] = ai[j] * (di[j] - dot);
      }
      // dq_i = scale Σ_j dS_ij k_j.
      rowsProduct(ds.data(), np, 1, n, n, kp.data(), dhp, tmp.data(), dhp, dhp);
      for (int64_t i = 0; i < n; i++) {
        float* gq = gbase + i * row;
        const float* t = tmp.data() + i * dhp;
#pragma omp simd
        for (int64_t c = 0; c < dh; c++) gq[c] = scale * t[c];
      }
      // dk_j = Σ_i dS_ij (scale q_i), dv_j = Σ_i A_ij dOut_i: dS and A read by columns.
      rowsProduct(ds.data(), 1, np, n, n, qp.data(), dhp, tmp.data(), dhp, dhp);
      for (int64_t j = 0; j < n; j++) copyRow(gbase + j * row + d, tmp.data() + j * dhp, dh);
      rowsProduct(a, 1, n, n, n, gop.data(), dhp, tmp.data(), dhp, dhp);
      for (int64_t j = 0; j < n; j++) copyRow(gbase + j * row + 2 * d, tmp.data() + j * dhp, dh);
    }
  });
}

}  // namespace sslkd
