// The load generator's latency histogram: bounded relative error, exact extremes, merging.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "tools/load/histogram.hpp"

using switchboard::load::histogram;

TEST_CASE("histogram quantiles are within 1/64 of the exact ones, never below them") {
  histogram h;
  std::vector<std::uint64_t> vals;
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(8.0, 1.5);  // µs: a long tail like real latencies
  for (int i = 0; i < 100000; ++i) {
    auto v = static_cast<std::uint64_t>(dist(rng));
    vals.push_back(v);
    h.record(v);
  }
  std::sort(vals.begin(), vals.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    INFO("q=" << q);
    auto exact = vals[static_cast<std::size_t>(std::ceil(q * vals.size())) - 1];
    auto got = h.quantile(q);
    CHECK(got >= exact);
    CHECK(static_cast<double>(got) <= static_cast<double>(exact) * (1 + 1.0 / 64) + 1);
  }
  CHECK(h.quantile(1.0) == vals.back());
  CHECK(h.max() == vals.back());
  CHECK(h.min() == vals.front());
  CHECK(h.count() == vals.size());
}

TEST_CASE("histogram buckets tile the value range without gaps or overlaps") {
  CHECK(histogram::index_of(0) == 0);
  for (std::uint64_t v = 1; v < 300000; ++v) {
    auto i = histogram::index_of(v), j = histogram::index_of(v - 1);
    REQUIRE(histogram::upper_of(i) >= v);
    // Either v shares v-1's bucket, or v-1 was the last value of the bucket just before.
    REQUIRE((i == j || (i == j + 1 && histogram::upper_of(j) == v - 1)));
  }
  CHECK(histogram::index_of(~std::uint64_t{0}) == histogram::slots - 1);
}

TEST_CASE("merged histograms answer as one") {
  histogram a, b, both;
  for (std::uint64_t v = 1; v <= 1000; ++v) {
    (v % 2 ? a : b).record(v * 10);
    both.record(v * 10);
  }
  a.merge(b);
  CHECK(a.count() == both.count());
  for (double q : {0.1, 0.5, 0.99}) CHECK(a.quantile(q) == both.quantile(q));
  CHECK(a.min() == 10);
  CHECK(a.max() == 10000);
  histogram empty;
  CHECK(empty.quantile(0.5) == 0);
  CHECK(empty.min() == 0);
}
