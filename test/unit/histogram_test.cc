// Fixed-bucket histograms: bucket placement at the bounds, merge, quantiles.
#include <gtest/gtest.h>

#include "analysis/histogram.h"

namespace grpcscope {
namespace {

TEST(HistogramTest, ValuesLandInTheBucketWhoseUpperBoundHoldsThem) {
  Histogram h(HistogramUnit::kBytes);
  h.observe(8);     // le 8
  h.observe(9);     // le 16
  h.observe(1024);  // le 1024
  h.observe(1e12);  // +Inf
  auto b = h.bounds();
  EXPECT_EQ(b.front(), 8);
  EXPECT_EQ(b.back(), 256.0 * 1024 * 1024);
  EXPECT_EQ(h.bucket(0), 1u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(7), 1u);  // 8 << 7 == 1024
  EXPECT_EQ(h.bucket(b.size()), 1u);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 8 + 9 + 1024 + 1e12);
}

TEST(HistogramTest, SecondsRangeFromMicrosecondsToMinutes) {
  auto b = histogramBounds(HistogramUnit::kSeconds);
  EXPECT_DOUBLE_EQ(b.front(), 1e-6);
  EXPECT_DOUBLE_EQ(b.back(), 600);
  EXPECT_LE(b.size() + 1, Histogram::kMaxBuckets);
  EXPECT_LE(histogramBounds(HistogramUnit::kBytes).size() + 1, Histogram::kMaxBuckets);
  EXPECT_LE(histogramBounds(HistogramUnit::kCount).size() + 1, Histogram::kMaxBuckets);
}

TEST(HistogramTest, MergeAddsAndQuantilesInterpolate) {
  Histogram a(HistogramUnit::kSeconds), b(HistogramUnit::kSeconds);
  for (int i = 0; i < 90; ++i) a.observe(0.0002);  // (1e-4, 2.5e-4]
  for (int i = 0; i < 10; ++i) b.observe(0.2);     // (0.1, 0.25]
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  double p50 = a.quantile(0.5);
  EXPECT_GT(p50, 1e-4);
  EXPECT_LE(p50, 2.5e-4);
  double p99 = a.quantile(0.99);
  EXPECT_GT(p99, 0.1);
  EXPECT_LE(p99, 0.25);
  EXPECT_EQ(Histogram().quantile(0.5), 0);
}

}  // namespace
}  // namespace grpcscope
