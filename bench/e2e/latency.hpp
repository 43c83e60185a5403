// Latency samples of one load generator run (single-threaded: the load generator runs one
// io_context thread). Keeps every sample; a 3-minute run at 10k requests/s is 7 MB.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace iomt::bench {

class latency_recorder {
public:
  void add(std::uint64_t microseconds) {
    samples_.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(microseconds, UINT32_MAX)));
    sorted_ = false;
  }
  std::size_t count() const noexcept { return samples_.size(); }

  // Nearest-rank quantile in milliseconds (q in [0, 1]); 0 without samples. Sorts lazily.
  double quantile_ms(double q) {
    if (samples_.empty()) return 0;
    if (!sorted_) {
      std::sort(samples_.begin(), samples_.end());
      sorted_ = true;
    }
    auto rank = static_cast<std::size_t>(q * static_cast<double>(samples_.size()));
    if (rank >= samples_.size()) rank = samples_.size() - 1;
    return samples_[rank] / 1000.0;
  }

private:
  std::vector<std::uint32_t> samples_;
  bool sorted_ = false;
};

}  // namespace iomt::bench
