// Branch-free float exp and erf shared by the elementwise and fused kernels
// (inline, so loops that call them still vectorise).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace sslkd {

/**
 * e^x to ~2 ulp (Cephes expf polynomial on r = x - n·ln2), branch-free so
 * loops vectorise; 2^n is applied in two halves so results down to the
 * subnormal range and up to FLT_MAX stay exact in exponent; inf/0/NaN kept.
 */
inline float fastExp(float x) {
  const float xc = std::min(std::max(x, -104.0f), 88.73f);
  const float n = std::floor(xc * 1.44269504088896341f + 0.5f);
  const float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  float v = y * s1 * s2;
  v = x > 88.73f ? std::numeric_limits<float>::infinity() : v;
  v = x < -104.0f ? 0.0f : v;
  return x != x ? x : v;
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), the formula tfjs's cpu and wasm Erf use. */
inline float fastErf(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const float y = 1.0f - poly * fastExp(-ax * ax);
  return x < 0.0f ? -y : y;
}

/** out[0 : n] = softmax(x[0 : n]) (max-shifted, fastExp); out may be x. */
inline void softmaxRow(const float* x, float* out, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; i++) mx = std::max(mx, x[i]);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; i++) {
    out[i] = fastExp(x[i] - mx);
    sum += out[i];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) out[i] *= inv;
}

}  // namespace sslkd
