// Histograms: fixed-bucket placement at the bounds, merge, quantiles (accuracy
// against exact order statistics: histogram_quantile_test.cc).
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

TEST(HistogramTest, MergeAddsBucketsAndQuantilesComeFromTheSketch) {
  Histogram a(HistogramUnit::kSeconds), b(HistogramUnit::kSeconds);
  for (int i = 0; i < 90; ++i) a.observe(0.0002);  // (1e-4, 2.5e-4]
  for (int i = 0; i < 10; ++i) b.observe(0.2);     // (0.1, 0.25]
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.bucket(7), 90u);   // le 2.5e-4: the Prometheus layout is unchanged
  EXPECT_EQ(a.bucket(16), 10u);  // le 0.25
  // Quantiles are the observations themselves within 1 %, not a point
  // interpolated inside the fixed bucket.
  EXPECT_NEAR(a.quantile(0.5), 0.0002, 0.01 * 0.0002);
  EXPECT_NEAR(a.quantile(0.9), 0.0002, 0.01 * 0.0002);  // rank 90
  EXPECT_NEAR(a.quantile(0.91), 0.2, 0.01 * 0.2);       // rank 91
  EXPECT_NEAR(a.quantile(0.99), 0.2, 0.01 * 0.2);
  EXPECT_EQ(Histogram().quantile(0.5), 0);
}

}  // namespace
}  // namespace grpcscope
