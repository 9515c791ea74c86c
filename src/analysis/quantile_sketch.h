// A mergeable relative-error quantile sketch (DDSketch's logarithmic mapping:
// Masson, Rim, Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch
// with Relative-Error Guarantees", VLDB 2019). Bucket i holds the values in
// (gamma^(i-1), gamma^i] with gamma = (1 + a) / (1 - a); reporting
// 2 gamma^i / (gamma + 1) for any of them is off by at most a (relative).
// Counts live in one dense array over the bucket indices actually seen, so a
// latency spread over two decades costs ~230 buckets, not the whole range.
// Values below the lowest tracked value (zero included) are counted in a
// zero bucket and reported as 0; values above the highest tracked value
// count in the top bucket. The exact minimum and maximum are kept: rank 1
// and rank n report them, and every other quantile is clamped to them (so a
// constant value is reported exactly).
//
// Adding is O(1): a log, a multiplication, an increment. It allocates only
// when a value falls outside the index range seen so far (the array then
// grows with slack), so it stops allocating once the range is warm.
// Merging adds counts bucket by bucket: exact, order-independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace grpcscope {

class QuantileSketch {
 public:
  // The relative accuracy a: every quantile is within a of the exact order
  // statistic. Slightly under 1 % so that floating-point rounding at bucket
  // edges (a value exactly at gamma^i may land one bucket up) stays inside 1 %.
  static constexpr double kRelativeAccuracy = 0.0099;

  // Values in [min_value, max_value] are tracked with relative accuracy;
  // 0 < min_value < max_value. Both ends are fixed per histogram unit so
  // that sketches of one kind merge bucket by bucket.
  QuantileSketch(double min_value, double max_value);

  void add(double value);
  // Adds `other`'s counts; both must have been built with the same range.
  void merge(const QuantileSketch& other);
  // Removes `earlier`'s counts: `earlier` is this sketch at an earlier time
  // (every bucket of it at most ours), so what is left is the values added
  // since. The exact minimum and maximum of those are not known: each end is
  // the exact one when it falls in the same bucket, else its bucket's value.
  void subtract(const QuantileSketch& earlier);

  uint64_t count() const { return count_; }
  uint64_t zeroCount() const { return zero_count_; }
  double min() const { return count_ ? min_ : 0; }
  double max() const { return count_ ? max_ : 0; }

  // The value at rank r = ceil(q * n) (1-based, clamped to 1..n) of the n
  // values added, within kRelativeAccuracy; 0 when empty. q is clamped to 0..1.
  double quantile(double q) const;

  // Buckets allocated (dense, including growth slack): memory is 8 bytes each.
  size_t bucketsAllocated() const { return counts_.size(); }
  // The most buckets a sketch of this range can hold.
  size_t maxBuckets() const { return static_cast<size_t>(max_index_ - min_index_ + 1); }

  // The bucket index of a value > 0 (exposed for tests).
  static int32_t indexOf(double value);
  // The value reported for bucket index i.
  static double valueOf(int32_t index);

 private:
  void grow(int32_t index);                // make room for bucket `index`, with slack
  void relayout(int32_t lo, int32_t hi);  // counts_ covers lo..hi (inclusive), counts kept

  std::vector<uint64_t> counts_;  // counts_[k] counts bucket offset_ + k
  int32_t offset_ = 0;
  int32_t min_index_;             // the bucket of min_value
  int32_t max_index_;             // the bucket of max_value (takes everything above)
  double min_value_;              // below: the zero bucket
  double max_value_;
  uint64_t count_ = 0;
  uint64_t zero_count_ = 0;
  double min_ = 0;
  double max_ = 0;
};

}  // namespace grpcscope
