// bench/bench_stats.hpp - statistics the benchmarks share.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace genpt_bench {

/// The median of v (the upper one for an even size); 0 for an empty v.
inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

}  // namespace genpt_bench
