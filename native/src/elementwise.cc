// Elementwise, softmax and reduction kernels. Single-threaded on purpose:
// they are memory-bound at these sizes (a ViT-Ti activation is 1-5 MB), and
// OpenMP barriers on a loaded 2-core machine cost more than they save; only
// the oneDNN matmuls use threads. Loops are written to vectorise (AVX-512
// with -march=native): exp and erf are polynomial, not libm calls.
// Broadcasting binary ops walk the output with the innermost axis as a
// contiguous (stride 1) or broadcast (stride 0) run, after merging axes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include "fastmath.h"
#include "kernels.h"

namespace sslkd {
namespace {

template <typename F>
void binaryLoop(F f, const float* a, const float* b, float* out, const std::vector<int64_t>& shape,
                const std::vector<int64_t>& sa, const std::vector<int64_t>& sb) {
  const int r = static_cast<int>(shape.size());
  if (r == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  const int64_t inner = shape[r - 1];
  const int64_t ia = sa[r - 1], ib = sb[r - 1];
  int64_t rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= shape[d];
  for (int64_t row = 0; row < rows; row++) {
    int64_t offA = 0, offB = 0, rem = row;
    for (int d = r - 2; d >= 0; d--) {
      const int64_t idx = rem % shape[d];
      rem /= shape[d];
      offA += idx * sa[d];
      offB += idx * sb[d];
    }
    const float* pa = a + offA;
    const float* pb = b + offB;
    float* po = out + row * inner;
    if (ia == 1 && ib == 1) {
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i], pb[i]);
    } else if (ia == 1) {
      const float vb = pb[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) po[i] = f(pa[i], vb);
    } else if (ib == 1) {
      const float va = pa[0];
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) po[i] = f(va, pb[i]);
    } else {
      const float v = f(pa[0], pb[0]);
      for (int64_t i = 0; i < inner; i++) po[i] = v;
    }
  }
}

template <typename F>
void unaryLoop(F f, const float* __restrict x, float* __restrict out, int64_t n) {
  if (x == out) {  // in place (never from tfjs, but allowed)
    for (int64_t i = 0; i < n; i++) out[i] = f(x[i]);
    return;
  }
#pragma omp simd
  for (int64_t i = 0; i < n; i++) out[i] = f(x[i]);
}

}  // namespace

void binary(BinaryOp op, const float* a, const float* b, float* out, const std::vector<int64_t>& shape,
            const std::vector<int64_t>& sa, const std::vector<int64_t>& sb) {
  switch (op) {
    case BinaryOp::Add: return binaryLoop([](float x, float y) { return x + y; }, a, b, out, shape, sa, sb);
    case BinaryOp::Sub: return binaryLoop([](float x, float y) { return x - y; }, a, b, out, shape, sa, sb);
    case BinaryOp::Mul: return binaryLoop([](float x, float y) { return x * y; }, a, b, out, shape, sa, sb);
    case BinaryOp::Div: return binaryLoop([](float x, float y) { return x / y; }, a, b, out, shape, sa, sb);
    case BinaryOp::SquaredDifference:
      return binaryLoop([](float x, float y) { return (x - y) * (x - y); }, a, b, out, shape, sa, sb);
    case BinaryOp::Maximum:
      return binaryLoop([](float x, float y) { return std::isnan(x) || x > y ? x : y; }, a, b, out, shape, sa, sb);
    case BinaryOp::Minimum:
      return binaryLoop([](float x, float y) { return std::isnan(x) || x < y ? x : y; }, a, b, out, shape, sa, sb);
  }
}

void unary(UnaryOp op, const float* x, float* out, int64_t n) {
  switch (op) {
    case UnaryOp::Erf: return unaryLoop([](float v) { return fastErf(v); }, x, out, n);
    case UnaryOp::Exp: return unaryLoop([](float v) { return fastExp(v); }, x, out, n);
    case UnaryOp::Log: return unaryLoop([](float v) { return std::log(v); }, x, out, n);
    case UnaryOp::Neg: return unaryLoop([](float v) { return -v; }, x, out, n);
    case UnaryOp::Rsqrt: return unaryLoop([](float v) { return 1.0f / std::sqrt(v); }, x, out, n);
    case UnaryOp::Sqrt: return unaryLoop([](float v) { return std::sqrt(v); }, x, out, n);
    case UnaryOp::Square: return unaryLoop([](float v) { return v * v; }, x, out, n);
    case UnaryOp::Reciprocal: return unaryLoop([](float v) { return 1.0f / v; }, x, out, n);
    case UnaryOp::Abs: return unaryLoop([](float v) { return std::fabs(v); }, x, out, n);
    case UnaryOp::Tanh: return unaryLoop([](float v) { return std::tanh(v); }, x, out, n);
    case UnaryOp::Sigmoid: return unaryLoop([](float v) { return 1.0f / (1.0f + fastExp(-v)); }, x, out, n);
    case UnaryOp::Relu: return unaryLoop([](float v) { return std::isnan(v) ? v : std::max(v, 0.0f); }, x, out, n);
  }
}

void softmax(const float* x, float* out, int64_t rows, int64_t cols) {
  // The one kernel here split over threads (runTuned, as fused.cc's): rows are independent.
  runTuned("softmax," + std::to_string(rows) + ',' + std::to_string(cols), rows * cols >= kParallelElems, [&](int nthr) {
#pragma omp parallel for num_threads(nthr) schedule(static) if (nthr > 1)
  for (int64_t r = 0; r < rows; r++) softmaxRow(x + r * cols, out + r * cols, cols);
  });
}

void reduce(int kind, const float* x, float* out, int64_t outer, int64_t mid, int64_t inner) {
  const float init = kind == 2 ? -std::numeric_limits<float>::infinity()
                   : kind == 3 ? std::numeric_limits<float>::infinity() : 0.0f;
  if (inner == 1) {
    for (int64_t o = 0; o < outer; o++) {
      const float* p = x + o * mid;
      float acc = init;
      if (kind <= 1) {
        double s = 0.0;  // pairwise-enough: double accumulation matches tfjs's float sums within 1 ulp-ish
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < mid; i++) s += p[i];
        acc = static_cast<float>(kind == 1 ? s / static_cast<double>(mid) : s);
      } else if (kind == 2) {
        for (int64_t i = 0; i < mid; i++) acc = std::isnan(p[i]) || p[i] > acc ? p[i] : acc;
      } else {
        for (int64_t i = 0; i < mid; i++) acc = std::isnan(p[i]) || p[i] < acc ? p[i] : acc;
      }
      out[o] = acc;
    }
    return;
  }
  // Reduce a middle axis: accumulate rows of length `inner`, split over inner chunks for threads.
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t c0 = 0; c0 < inner; c0 += 256) {
      const int64_t c1 = std::min(inner, c0 + 256);
      float* po = out + o * inner;
      double acc[256];
      for (int64_t c = c0; c < c1; c++) acc[c - c0] = init;
      for (int64_t j = 0; j < mid; j++) {
        const float* p = x + (o * mid + j) * inner;
        if (kind <= 1) {
#pragma omp simd
          for (int64_t c = c0; c < c1; c++) acc[c - c0] += p[c];
        } else if (kind == 2) {
          for (int64_t c = c0; c < c1; c++) acc[c - c0] = std::isnan(p[c]) || p[c] > acc[c - c0] ? p[c] : acc[c - c0];
        } else {
          for (int64_t c = c0; c < c1; c++) acc[c - c0] = std::isnan(p[c]) || p[c] < acc[c - c0] ? p[c] : acc[c - c0];
        }
      }
      for (int64_t c = c0; c < c1; c++) {
        po[c] = static_cast<float>(kind == 1 ? acc[c - c0] / static_cast<double>(mid) : acc[c - c0]);
      }
    }
  }
}

}  // namespace sslkd
