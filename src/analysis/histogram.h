// Fixed-bucket histograms, one layout per unit, the same buckets in every
// worker so that per-worker histograms merge by adding (docs/metrics.md lists
// the bounds). Observing is a short binary search and two additions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace grpcscope {

enum class HistogramUnit : uint8_t { kSeconds, kBytes, kCount };

// Upper bounds (inclusive, as Prometheus "le") of the finite buckets.
std::span<const double> histogramBounds(HistogramUnit unit);

class Histogram {
 public:
  static constexpr size_t kMaxBuckets = 32;  // finite buckets + the +Inf one

  explicit Histogram(HistogramUnit unit = HistogramUnit::kSeconds) : unit_(unit) {}

  void observe(double value);
  void merge(const Histogram& other);

  HistogramUnit unit() const { return unit_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Observations in bucket i (not cumulative); i == bounds().size() is +Inf.
  uint64_t bucket(size_t i) const { return buckets_[i]; }
  std::span<const double> bounds() const { return histogramBounds(unit_); }
  // The q-quantile (0..1), interpolated linearly inside its bucket; 0 when empty.
  double quantile(double q) const;

 private:
  HistogramUnit unit_;
  uint64_t count_ = 0;
  double sum_ = 0;
  std::array<uint64_t, kMaxBuckets> buckets_{};
};

}  // namespace grpcscope
