// A log-linear latency histogram in the style of HdrHistogram: 128 linear sub-buckets per power of
// two, so any recorded value is reported within 1/64 (1.6%) of itself, in constant memory (a few
// KiB) and O(1) per record. One per worker thread; merged at the end of a run.
#pragma once

#include <array>
#include <cstdint>

namespace switchboard::load {

class histogram {
 public:
  // Records one value (microseconds by convention; any non-negative integer unit works).
  void record(std::uint64_t v);
  void merge(const histogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  // The value at quantile q in [0, 1]: the smallest bucket value with at least q of the
  // recorded values at or below it (0 when empty; the exact max for q = 1).
  std::uint64_t quantile(double q) const;

  static constexpr int sub_bits = 7;  // 128 sub-buckets per power of two
  static constexpr int buckets = 1 << sub_bits;
  static constexpr int half = buckets / 2;
  static constexpr int max_shift = 40;  // values up to 2^47
  static constexpr int slots = buckets + max_shift * half;

  static int index_of(std::uint64_t v);
  // The highest value that lands in slot `i` (what a quantile reports: never below the truth).
  static std::uint64_t upper_of(int i);

 private:
  std::array<std::uint64_t, slots> counts_{};
  std::uint64_t count_ = 0, sum_ = 0, max_ = 0, min_ = ~std::uint64_t{0};
};

}  // namespace switchboard::load
