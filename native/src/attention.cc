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

void attentionCore(const float* qkv, float* out, float* attn, int64_t batch, int64_t tokens, int64_t heads, int64_t dh,
                   float scale) {
  const int64_t d = heads * dh, row = 3 * d, n = tokens;
  split("attentionCore", batch * heads, batch * heads * n * n, [&](int64_t u0, int64_t u1) {
    std::vector<float> qs(n * dh), kt(dh * n);
    for (int64_t u = u0; u < u1; u++) {
      const int64_t b = u / heads, h = u % heads;
      const float* base = qkv + b * n * row + h * dh;
      for (int64_t j = 0; j < n; j++) {
        const float* q = base + j * row;
        const float* k = q + d;
        for (int64_t c = 0; c < dh; c++) {
          qs[j * dh + c] = q[c] * scale;
          kt[c * n + j] = k[c];
        }
      }
      float* a = attn + u * n * n;
      for (int64_t i = 0; i < n; i++) {
        float* s = a + i * n;
        std::fill(s, s + n, 0.0f);
        for (int64_t c = 0; c < dh; c++) {
          const float qc = qs[i * dh + c];
          const float* kc = kt.data() + c * n;
#pragma omp simd
          for (int64_t j = 0; j < n; j++) s[j] += qc * kc[j];
        }
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < n; j++) mx = std::max(mx, s[j]);
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < n; j++) {
          s[j] = fastExp(s[j] - mx);
          sum += s[j];
        }
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int64_t j = 0; j < n; j++) s[j] *= inv;
        float* o = out + (b * n + i) * d + h * dh;
        std::fill(o, o + dh, 0.0f);
        for (int64_t j = 0; j < n; j++) {
          const float aij = s[j];
          const float* v = base + j * row + 2 * d;
#pragma omp simd
          for (int64_t c = 0; c < dh; c++) o[c] += aij * v[c];
        }
      }
    }
  });
}

void attentionCoreGrad(const float* qkv, const float* attn, const float* dOut, const float* dAttn, float* dqkv,
                       int64_t batch, int64_t tokens, int64_t heads, int64_t dh, float scale) {
  const int64_t d = heads * dh, row = 3 * d, n = tokens;
  split("attentionCoreGrad", batch * heads, batch * heads * n * n, [&](int64_t u0, int64_t u1) {
    std::vector<float> vt(dh * n), ds(n);
    for (int64_t u = u0; u < u1; u++) {
      const int64_t b = u / heads, h = u % heads;
      const float* base = qkv + b * n * row + h * dh;
      float* gbase = dqkv + b * n * row + h * dh;
      for (int64_t j = 0; j < n; j++) {
        const float* v = base + j * row + 2 * d;
        for (int64_t c = 0; c < dh; c++) vt[c * n + j] = v[c];
        float* g = gbase + j * row;
        std::fill(g, g + dh, 0.0f);
        std::fill(g + d, g + d + dh, 0.0f);
        std::fill(g + 2 * d, g + 2 * d + dh, 0.0f);
      }
      const float* a = attn + u * n * n;
      const float* da0 = dAttn == nullptr ? nullptr : dAttn + u * n * n;
      for (int64_t i = 0; i < n; i++) {
        const float* ai = a + i * n;
        const float* go = dOut + (b * n + i) * d + h * dh;
        // dA row i = dOut_i · vᵀ (+ dAttn), then dv_j += A_ij dOut_i.
        if (da0 != nullptr) std::memcpy(ds.data(), da0 + i * n, n * sizeof(float));
        else std::fill(ds.begin(), ds.end(), 0.0f);
        for (int64_t c = 0; c < dh; c++) {
          const float gc = go[c];
          const float* vc = vt.data() + c * n;
#pragma omp simd
          for (int64_t j = 0; j < n; j++) ds[j] += gc * vc[j];
        }
        for (int64_t j = 0; j < n; j++) {
          const float aij = ai[j];
          float* gv = gbase + j * row + 2 * d;
#pragma omp simd
          for (int64_t c = 0; c < dh; c++) gv[c] += aij * go[c];
        }
        // dS = A ∘ (dA - Σ dA ∘ A), then dq_i = scale Σ_j dS_ij k_j and dk_j += dS_ij (scale q_i).
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < n; j++) dot += ds[j] * ai[j];
#pragma omp simd
        for (int64_t j = 0; j < n; j++) ds[j] = ai[j] * (ds[j] - dot);
        const float* qi = base + i * row;
        float* gq = gbase + i * row;
        for (int64_t j = 0; j < n; j++) {
          const float s = ds[j] * scale;
          const float* kj = base + j * row + d;
          float* gk = gbase + j * row + d;
#pragma omp simd
          for (int64_t c = 0; c < dh; c++) {
            gq[c] += s * kj[c];
            gk[c] += s * qi[c];
          }
        }
      }
    }
  });
}

}  // namespace sslkd
