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

}  // namespace

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
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kMaxBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
}

double Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  std::span<const double> b = bounds();
  double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count_);
  uint64_t seen = 0;
  for (size_t i = 0; i <= b.size(); ++i) {
    if (buckets_[i] == 0) continue;
    if (static_cast<double>(seen + buckets_[i]) >= rank) {
      double lower = i == 0 ? 0 : b[i - 1];
      if (i == b.size()) return lower;  // the +Inf bucket: the largest finite bound is all we know
      double within = (rank - static_cast<double>(seen)) / static_cast<double>(buckets_[i]);
      return lower + (b[i] - lower) * std::clamp(within, 0.0, 1.0);
    }
    seen += buckets_[i];
  }
  return b.back();
}

}  // namespace grpcscope
