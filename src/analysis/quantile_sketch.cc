#include "analysis/quantile_sketch.h"

#include <algorithm>
#include <cmath>

namespace grpcscope {
namespace {

constexpr double kAlpha = QuantileSketch::kRelativeAccuracy;
constexpr double kGamma = (1 + kAlpha) / (1 - kAlpha);
// ln(kGamma), written out because std::log is not constexpr (and a dynamic
// initializer would race static Histograms in other translation units);
// quantile_sketch_test checks it against std::log(kGamma).
constexpr double kLogGamma = 0.019800646904042287;
constexpr double kInverseLogGamma = 1 / kLogGamma;
// Bucket i spans (gamma^(i-1), gamma^i]; 2 gamma^i / (gamma + 1) is off by
// (gamma - 1) / (gamma + 1) = alpha at both ends.
constexpr double kRepresentative = 2 / (1 + kGamma);

// Growth: a new index outside the allocated range extends it by this much
// beyond the index (at least), so a drifting distribution reallocates
// O(log range) times, then never.
constexpr int32_t kMinSlack = 16;

}  // namespace

int32_t QuantileSketch::indexOf(double value) {
  return static_cast<int32_t>(std::ceil(std::log(value) * kInverseLogGamma));
}

double QuantileSketch::valueOf(int32_t index) {
  return std::exp(static_cast<double>(index) * kLogGamma) * kRepresentative;
}

QuantileSketch::QuantileSketch(double min_value, double max_value)
    : min_index_(indexOf(min_value)), max_index_(indexOf(max_value)), min_value_(min_value), max_value_(max_value) {}

void QuantileSketch::add(double value) {
  if (std::isnan(value)) value = 0;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++count_;
  if (value < min_value_) {
    ++zero_count_;
    return;
  }
  int32_t i = std::clamp(indexOf(std::min(value, max_value_)), min_index_, max_index_);
  if (i < offset_ || i >= offset_ + static_cast<int32_t>(counts_.size())) grow(i);
  ++counts_[static_cast<size_t>(i - offset_)];
}

void QuantileSketch::grow(int32_t index) {
  int32_t size = static_cast<int32_t>(counts_.size());
  int32_t slack = std::max(kMinSlack, size / 4);
  int32_t lo, hi;  // inclusive
  if (size == 0) {
    lo = index - kMinSlack;
    hi = index + kMinSlack;
  } else if (index < offset_) {
    lo = index - slack;
    hi = offset_ + size - 1;
  } else {
    lo = offset_;
    hi = index + slack;
  }
  relayout(std::max(lo, min_index_), std::min(hi, max_index_));
}

void QuantileSketch::relayout(int32_t lo, int32_t hi) {
  std::vector<uint64_t> grown(static_cast<size_t>(hi - lo + 1), 0);
  if (!counts_.empty()) std::copy(counts_.begin(), counts_.end(), grown.begin() + (offset_ - lo));
  counts_.swap(grown);
  offset_ = lo;
}

void QuantileSketch::merge(const QuantileSketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  zero_count_ += other.zero_count_;
  // The other's occupied buckets only (not its slack).
  size_t first = 0, last = other.counts_.size();
  while (first < last && other.counts_[first] == 0) ++first;
  while (last > first && other.counts_[last - 1] == 0) --last;
  if (first == last) return;
  int32_t lo = other.offset_ + static_cast<int32_t>(first);
  int32_t hi = other.offset_ + static_cast<int32_t>(last) - 1;  // inclusive
  int32_t size = static_cast<int32_t>(counts_.size());
  if (size == 0) {
    relayout(lo, hi);
  } else if (lo < offset_ || hi >= offset_ + size) {
    relayout(std::min(lo, offset_), std::max(hi, offset_ + size - 1));
  }
  for (size_t k = first; k < last; ++k) {
    counts_[static_cast<size_t>(other.offset_ + static_cast<int32_t>(k) - offset_)] += other.counts_[k];
  }
}

void QuantileSketch::subtract(const QuantileSketch& earlier) {
  if (earlier.count_ == 0) return;
  count_ -= std::min(count_, earlier.count_);
  zero_count_ -= std::min(zero_count_, earlier.zero_count_);
  for (size_t k = 0; k < earlier.counts_.size(); ++k) {
    if (earlier.counts_[k] == 0) continue;
    int32_t at = earlier.offset_ + static_cast<int32_t>(k) - offset_;
    if (at < 0 || at >= static_cast<int32_t>(counts_.size())) continue;  // not a prefix of ours
    uint64_t& n = counts_[static_cast<size_t>(at)];
    n -= std::min(n, earlier.counts_[k]);
  }
  if (count_ == 0) {
    zero_count_ = 0;
    std::fill(counts_.begin(), counts_.end(), 0);
    min_ = max_ = 0;
    return;
  }
  size_t first = 0, last = counts_.size();
  while (first < last && counts_[first] == 0) ++first;
  while (last > first && counts_[last - 1] == 0) --last;
  if (first == last) {  // only zeros are left
    min_ = max_ = 0;
    return;
  }
  int32_t lo = offset_ + static_cast<int32_t>(first);
  int32_t hi = offset_ + static_cast<int32_t>(last) - 1;
  double low = zero_count_ ? 0 : (indexOf(min_) == lo ? min_ : valueOf(lo));
  double high = indexOf(max_) == hi ? max_ : valueOf(hi);
  min_ = low;
  max_ = high;
}

double QuantileSketch::quantile(double q) const {
  if (count_ == 0) return 0;
  double n = static_cast<double>(count_);
  double r = std::ceil(std::clamp(q, 0.0, 1.0) * n);
  uint64_t rank = r < 1 ? 1 : r >= n ? count_ : static_cast<uint64_t>(r);
  if (rank == 1) return min_;  // the extremes are known exactly
  if (rank == count_) return max_;
  double value = 0;
  if (rank > zero_count_) {
    uint64_t seen = zero_count_;
    for (size_t k = 0; k < counts_.size(); ++k) {
      seen += counts_[k];
      if (seen >= rank) {
        value = valueOf(offset_ + static_cast<int32_t>(k));
        break;
      }
    }
  }
  return std::clamp(value, min_, max_);
}

}  // namespace grpcscope
