// Splitting a kernel's independent units (rows, elements, attention heads)
// over the cores, when large and when that measured faster (runTuned: on an
// idle machine a second core adds bandwidth and flops; on a loaded one a
// thread that waits for a core costs more). Results never depend on the split.
#pragma once
#include <cstdint>
#include <string>
#include "kernels.h"

namespace sslkd {

/** f(begin, end) over [0, units) in one piece or split evenly over the threads runTuned picks for `name` and this size. */
template <typename F>
void split(const char* name, int64_t units, int64_t elems, F f) {
  runTuned(std::string(name) + ',' + std::to_string(units) + ',' + std::to_string(elems), elems >= kParallelElems && units > 1,
           [&](int nthr) {
             if (nthr <= 1) return f(int64_t{0}, units);
#pragma omp parallel for num_threads(nthr) schedule(static, 1)
             for (int t = 0; t < nthr; t++) f(units * t / nthr, units * (t + 1) / nthr);
           });
}

}  // namespace sslkd
