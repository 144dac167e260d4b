// Transpose of a row-major tensor by an axis permutation. Axes that stay
// adjacent are merged first; the innermost output axis is the loop run.
#include "kernels.h"

namespace sslkd {

void transpose(const float* x, float* out, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm) {
  const int r = static_cast<int>(shape.size());
  std::vector<int64_t> inStride(r, 1);
  for (int d = r - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  // Output axis i reads input axis perm[i]; merge output axes i, i+1 when perm[i+1] == perm[i] + 1.
  std::vector<int64_t> oShape, oStride;
  for (int i = 0; i < r; i++) {
    const int64_t ax = perm[i];
    if (!oShape.empty() && i > 0 && perm[i - 1] + 1 == ax) {
      oShape.back() *= shape[ax];
      oStride.back() = inStride[ax];
    } else {
      oShape.push_back(shape[ax]);
      oStride.push_back(inStride[ax]);
    }
  }
  const int q = static_cast<int>(oShape.size());
  const int64_t inner = oShape[q - 1], is = oStride[q - 1];
  if (q >= 2 && oStride[q - 2] == 1 && is != 1) {
    // A batch of 2-D transposes [cols, rows] -> [rows, cols]: 16x16 tiles keep reads and writes in cache.
    const int64_t rows = oShape[q - 2], cols = inner;
    int64_t batches = 1;
    for (int d = 0; d < q - 2; d++) batches *= oShape[d];
    for (int64_t bi = 0; bi < batches; bi++) {
      int64_t off = 0, rem = bi;
      for (int d = q - 3; d >= 0; d--) {
        off += (rem % oShape[d]) * oStride[d];
        rem /= oShape[d];
      }
      const float* px = x + off;
      float* po = out + bi * rows * cols;
      for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const int64_t r1 = r0 + 16 < rows ? r0 + 16 : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
          const int64_t c1 = c0 + 16 < cols ? c0 + 16 : cols;
          for (int64_t r = r0; r < r1; r++) {
            for (int64_t c = c0; c < c1; c++) po[r * cols + c] = px[c * is + r];
          }
        }
      }
    }
    return;
  }
  int64_t rows = 1;
  for (int d = 0; d < q - 1; d++) rows *= oShape[d];
  for (int64_t row = 0; row < rows; row++) {
    int64_t off = 0, rem = row;
    for (int d = q - 2; d >= 0; d--) {
      off += (rem % oShape[d]) * oStride[d];
      rem /= oShape[d];
    }
    const float* px = x + off;
    float* po = out + row * inner;
    if (is == 1) {
      for (int64_t i = 0; i < inner; i++) po[i] = px[i];
    } else {
      for (int64_t i = 0; i < inner; i++) po[i] = px[i * is];
    }
  }
}

}  // namespace sslkd
