// Log-linear latency histogram; see histogram.hpp.
#include "tools/load/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace switchboard::load {

int histogram::index_of(std::uint64_t v) {
  if (v < static_cast<std::uint64_t>(buckets)) return static_cast<int>(v);
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - (sub_bits - 1);  // >= 1: keeps the top sub_bits bits
  if (shift > max_shift) return slots - 1;
  auto sub = static_cast<int>(v >> shift);  // in [half, buckets)
  return buckets + (shift - 1) * half + (sub - half);
}

std::uint64_t histogram::upper_of(int i) {
  if (i < buckets) return static_cast<std::uint64_t>(i);
  int shift = (i - buckets) / half + 1;
  auto sub = static_cast<std::uint64_t>((i - buckets) % half + half);
  return ((sub + 1) << shift) - 1;
}

void histogram::record(std::uint64_t v) {
  ++counts_[static_cast<std::size_t>(index_of(v))];
  ++count_;
  sum_ += v;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
}

void histogram::merge(const histogram& o) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
}

std::uint64_t histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  if (q >= 1) return max_;
  auto rank = static_cast<std::uint64_t>(std::ceil(std::max(0.0, q) * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(upper_of(static_cast<int>(i)), max_);
  }
  return max_;
}

}  // namespace switchboard::load
