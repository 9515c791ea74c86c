// Histograms, one layout per unit, the same in every worker so that
// per-worker histograms merge by adding. Two views of the same observations:
// - fixed buckets (docs/metrics.md lists the bounds) for Prometheus' /metrics;
// - a relative-error sketch (quantile_sketch.h) for quantile(), the JSON
//   API's percentiles: within 1 % of the exact value over the unit's range.
// Observing is a short binary search, a log and a few additions; it allocates
// only when a value falls outside the sketch's range seen so far.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "analysis/quantile_sketch.h"

namespace grpcscope {

enum class HistogramUnit : uint8_t { kSeconds, kBytes, kCount };

// Upper bounds (inclusive, as Prometheus "le") of the finite buckets.
std::span<const double> histogramBounds(HistogramUnit unit);

// The range the sketch tracks within 1 % for a unit; below it: the zero bucket.
struct SketchRange {
  double min_value;
  double max_value;
};
SketchRange sketchRange(HistogramUnit unit);

class Histogram {
 public:
  static constexpr size_t kMaxBuckets = 32;  // finite buckets + the +Inf one

  explicit Histogram(HistogramUnit unit = HistogramUnit::kSeconds);

  void observe(double value);
  void merge(const Histogram& other);
  // Leaves the observations made since `earlier` (this histogram, earlier).
  void subtract(const Histogram& earlier);

  HistogramUnit unit() const { return unit_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Observations in bucket i (not cumulative); i == bounds().size() is +Inf.
  uint64_t bucket(size_t i) const { return buckets_[i]; }
  std::span<const double> bounds() const { return histogramBounds(unit_); }
  // The q-quantile (0..1): the observation at rank ceil(q * count) (1-based,
  // at least 1), within 1 % (QuantileSketch::kRelativeAccuracy); 0 when empty.
  double quantile(double q) const { return sketch_.quantile(q); }
  const QuantileSketch& sketch() const { return sketch_; }

 private:
  HistogramUnit unit_;
  uint64_t count_ = 0;
  double sum_ = 0;
  std::array<uint64_t, kMaxBuckets> buckets_{};
  QuantileSketch sketch_;
};

}  // namespace grpcscope
