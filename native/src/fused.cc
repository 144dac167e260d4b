// Fused kernels of the ViT train step (issue 7): LayerNorm, exact GELU and
// softmax, each with its gradient, and the AdamW update, one pass over
// memory each instead of the 5-20 elementwise tfjs ops (and buffers) the
// composite forms take. LayerNorm, GELU and the softmax gradient split their
// rows over the cores when large and when that measured faster (runTuned:
// on an idle machine a second core adds memory bandwidth, these kernels are
// memory-bound; on a loaded one a thread that waits for a core costs more).
// The results do not depend on the split (rows and elements are independent).
// The formulas
// follow the composite tfjs paths in plugins/models/ops and
// plugins/training/adamw.ts (same operation order, f32 throughout).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>
#include "fastmath.h"
#include "kernels.h"
#include "split.h"

namespace sslkd {
namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

}  // namespace

void layerNorm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int64_t rows,
               int64_t cols, float eps) {
  const float invCols = 1.0f / static_cast<float>(cols);
  split("layerNorm", rows, rows * cols, [&](int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    const float* px = x + r * cols;
    float* py = y + r * cols;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < cols; i++) s += px[i];
    const float mu = s * invCols;
    float q = 0.0f;
#pragma omp simd reduction(+ : q)
    for (int64_t i = 0; i < cols; i++) q += (px[i] - mu) * (px[i] - mu);
    const float rs = 1.0f / std::sqrt(q * invCols + eps);
#pragma omp simd
    for (int64_t i = 0; i < cols; i++) py[i] = (px[i] - mu) * rs * gamma[i] + beta[i];
    mean[r] = mu;
    rstd[r] = rs;
  }
  });
}

void layerNormGrad(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd, float* dx,
                   float* dgamma, float* dbeta, int64_t rows, int64_t cols) {
  std::vector<float> dg(cols, 0.0f), db(cols, 0.0f);
  float* pdg = dg.data();
  float* pdb = db.data();
  const float invCols = 1.0f / static_cast<float>(cols);
  for (int64_t r = 0; r < rows; r++) {
    const float* pdy = dy + r * cols;
    const float* px = x + r * cols;
    float* pdx = dx + r * cols;
    const float mu = mean[r], rs = rstd[r];
    float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t i = 0; i < cols; i++) {
      const float xh = (px[i] - mu) * rs;
      const float g = pdy[i] * gamma[i];
      sg += g;
      sgx += g * xh;
      pdg[i] += pdy[i] * xh;
      pdb[i] += pdy[i];
    }
    const float mg = sg * invCols, mgx = sgx * invCols;
#pragma omp simd
    for (int64_t i = 0; i < cols; i++) {
      const float xh = (px[i] - mu) * rs;
      pdx[i] = rs * (pdy[i] * gamma[i] - mg - xh * mgx);
    }
  }
  std::memcpy(dgamma, pdg, cols * sizeof(float));
  std::memcpy(dbeta, pdb, cols * sizeof(float));
}

void gelu(const float* x, float* y, int64_t n) {
  split("gelu", n, n, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) y[i] = x[i] * 0.5f * (fastErf(x[i] * kSqrtHalf) + 1.0f);
  });
}

void geluGrad(const float* dy, const float* x, float* dx, int64_t n) {
  split("geluGrad", n, n, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) {
      const float v = x[i];
      const float cdf = 0.5f * (fastErf(v * kSqrtHalf) + 1.0f);
      const float pdf = kInvSqrt2Pi * fastExp(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
  });
}

void softmaxGrad(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  split("softmaxGrad", rows, rows * cols, [&](int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    const float* py = y + r * cols;
    const float* pdy = dy + r * cols;
    float* pdx = dx + r * cols;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < cols; i++) s += py[i] * pdy[i];
#pragma omp simd
    for (int64_t i = 0; i < cols; i++) pdx[i] = py[i] * (pdy[i] - s);
  }
  });
}

void adamw(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWScalars& s) {
  const float b1 = s.beta1, b2 = s.beta2, ob1 = s.oneMinusBeta1, ob2 = s.oneMinusBeta2;
  const float c1 = s.c1, c2 = s.c2, eps = s.eps, lr = s.lr, keep = s.keep;
  const bool decay = s.decay;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * ob1;
    const float vi = v[i] * b2 + (gi * gi) * ob2;
    const float pi = decay ? p[i] * keep : p[i];
    const float update = (mi / c1) / (std::sqrt(vi / c2) + eps);
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = pi - update * lr;
  }
}

}  // namespace sslkd
