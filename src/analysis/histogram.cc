#include "analysis/histogram.h"

#include <algorithm>

namespace grpcscope {
namespace {

// Seconds: 1-2.5-5 steps from 1 us to 50 s, then 100 s, 5 min, 10 min.
constexpr std::array<double, 27> kSeconds = {
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025,
    0.05, 0.1,    0.25, 0.5,  1,    2.5,  5,    10,   25,   50,   100,  300,  600};

// Bytes: powers of two from 8 B to 256 MiB.
constexpr std::array<double, 26> kBytes = [] {
  std::array<double, 26> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<double>(uint64_t{8} << i);
  return b;
}();

// Counts (streams per connection, ...): 1, 2, 5 steps up to 1e6.
constexpr std::array<double, 19> kCounts = {1,    2,    5,     10,    20,    50,     100,    200,    500,   1000,
                                            2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000};

// Sketch ranges (quantile_sketch.h): what JSON percentiles resolve within 1 %.
// Seconds: 100 ns (below a syscall) to 1e6 s (11.6 days: connection
// lifetimes); bytes: 1 B to 64 GiB (a gRPC message is at most 4 GiB - 1: its
// length prefix is 32 bits); counts: 1 to 1e9. Zero is exact (zero bucket).
constexpr SketchRange kSecondsRange{1e-7, 1e6};
constexpr SketchRange kBytesRange{1, 64.0 * 1024 * 1024 * 1024};
constexpr SketchRange kCountsRange{1, 1e9};

}  // namespace

SketchRange sketchRange(HistogramUnit unit) {
  switch (unit) {
    case HistogramUnit::kSeconds: return kSecondsRange;
    case HistogramUnit::kBytes: return kBytesRange;
    case HistogramUnit::kCount: return kCountsRange;
  }
  return kSecondsRange;
}

Histogram::Histogram(HistogramUnit unit)
    : unit_(unit), sketch_(sketchRange(unit).min_value, sketchRange(unit).max_value) {}

std::span<const double> histogramBounds(HistogramUnit unit) {
  switch (unit) {
    case HistogramUnit::kSeconds: return kSeconds;
    case HistogramUnit::kBytes: return kBytes;
    case HistogramUnit::kCount: return kCounts;
  }
  return kSeconds;
}

void Histogram::observe(double value) {
  std::span<const double> b = bounds();
  size_t i = static_cast<size_t>(std::lower_bound(b.begin(), b.end(), value) - b.begin());
  ++buckets_[i];
  ++count_;
  sum_ += value;
  sketch_.add(value);
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kMaxBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  sketch_.merge(other.sketch_);
}

void Histogram::subtract(const Histogram& earlier) {
  for (size_t i = 0; i < kMaxBuckets; ++i) buckets_[i] -= std::min(buckets_[i], earlier.buckets_[i]);
  count_ -= std::min(count_, earlier.count_);
  sum_ = count_ ? std::max(0.0, sum_ - earlier.sum_) : 0;
  sketch_.subtract(earlier.sketch_);
}

}  // namespace grpcscope
