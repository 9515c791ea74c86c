// QuantileSketch (src/analysis/quantile_sketch.h): the bucket mapping's
// relative error, out-of-range values, growth, merging, allocations and
// memory. Histogram-level accuracy is in histogram_quantile_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>

#include "analysis/histogram.h"
#include "analysis/quantile_sketch.h"

// Counts every allocation of this test binary (the hot-path check below).
namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace grpcscope {
namespace {

constexpr double kAlpha = QuantileSketch::kRelativeAccuracy;

QuantileSketch secondsSketch() {
  SketchRange r = sketchRange(HistogramUnit::kSeconds);
  return QuantileSketch(r.min_value, r.max_value);
}

TEST(QuantileSketchTest, MappingConstantsAgree) {
  double gamma = (1 + kAlpha) / (1 - kAlpha);
  // valueOf(i) / valueOf(i - 1) is gamma: the written-out ln(gamma) is right.
  EXPECT_NEAR(QuantileSketch::valueOf(1) / QuantileSketch::valueOf(0), gamma, 1e-15);
  EXPECT_NEAR(QuantileSketch::valueOf(0), 2 / (1 + gamma), 1e-15);
  EXPECT_EQ(QuantileSketch::indexOf(1), 0);
  EXPECT_LT(kAlpha, 0.01);
}

// Every value of every unit's range maps to a bucket whose reported value is
// within alpha, including values exactly on (and next to) bucket edges.
TEST(QuantileSketchTest, RelativeErrorBoundHoldsOverEachUnitsRange) {
  for (auto unit : {HistogramUnit::kSeconds, HistogramUnit::kBytes, HistogramUnit::kCount}) {
    SketchRange r = sketchRange(unit);
    double worst = 0;
    for (double v = r.min_value; v <= r.max_value; v *= 1.000731) {
      double got = QuantileSketch::valueOf(QuantileSketch::indexOf(v));
      worst = std::max(worst, std::abs(got - v) / v);
    }
    for (int32_t i = QuantileSketch::indexOf(r.min_value); i <= QuantileSketch::indexOf(r.max_value); ++i) {
      double edge = QuantileSketch::valueOf(i) * (1 + (1 + kAlpha) / (1 - kAlpha)) / 2;  // gamma^i
      for (double v : {std::nextafter(edge, 0.0), edge, std::nextafter(edge, 1e300)}) {
        double got = QuantileSketch::valueOf(QuantileSketch::indexOf(v));
        worst = std::max(worst, std::abs(got - v) / v);
      }
    }
    EXPECT_LE(worst, kAlpha * (1 + 1e-9)) << static_cast<int>(unit);
    EXPECT_LT(worst, 0.01);
  }
}

TEST(QuantileSketchTest, QuantileIsTheValueAtRankCeilQN) {
  QuantileSketch s = secondsSketch();
  for (int i = 1; i <= 10; ++i) s.add(i * 0.001);  // 1..10 ms
  EXPECT_EQ(s.quantile(0), 0.001);                  // rank 1: the minimum, exact
  EXPECT_EQ(s.quantile(1), 0.010);                  // rank n: the maximum, exact
  EXPECT_NEAR(s.quantile(0.5), 0.005, kAlpha * 0.005);   // rank 5
  EXPECT_NEAR(s.quantile(0.51), 0.006, kAlpha * 0.006);  // rank ceil(5.1) = 6
  EXPECT_NEAR(s.quantile(0.9), 0.009, kAlpha * 0.009);
  EXPECT_NEAR(s.quantile(0.91), 0.010, kAlpha * 0.010);
  EXPECT_EQ(s.quantile(-1), s.quantile(0));
  EXPECT_EQ(s.quantile(2), s.quantile(1));
}

TEST(QuantileSketchTest, OutOfRangeValues) {
  QuantileSketch s = secondsSketch();
  s.add(0);
  s.add(-1);                                        // a clock step: below the range
  s.add(std::numeric_limits<double>::quiet_NaN());  // counted as 0
  s.add(5e-8);                                      // below 100 ns: the zero bucket
  EXPECT_EQ(s.zeroCount(), 4u);
  s.add(std::numeric_limits<double>::infinity());  // the top bucket
  s.add(1e9);
  EXPECT_EQ(s.count(), 6u);
  EXPECT_EQ(s.quantile(0), -1);  // the exact minimum
  EXPECT_EQ(s.quantile(0.5), 0);  // ranks 2..4: the zero bucket
  EXPECT_EQ(s.quantile(1), std::numeric_limits<double>::infinity());  // the exact maximum
  double top = s.quantile(0.8);  // rank 5 (1e9): in the top bucket, reported as about 1e6
  EXPECT_NEAR(top, 1e6, kAlpha * 1e6);
  EXPECT_LE(s.bucketsAllocated(), 2u * 16 + 1);
}

TEST(QuantileSketchTest, GrowingDownAndUpKeepsCounts) {
  QuantileSketch up = secondsSketch(), down = secondsSketch();
  std::vector<double> values;
  for (double v = 1e-6; v < 1e4; v *= 1.05) values.push_back(v);
  for (double v : values) up.add(v);
  for (auto it = values.rbegin(); it != values.rend(); ++it) down.add(*it);
  for (double q = 0; q <= 1; q += 0.01) EXPECT_EQ(up.quantile(q), down.quantile(q)) << q;
  EXPECT_LE(up.bucketsAllocated(), up.maxBuckets());
  EXPECT_EQ(up.maxBuckets(), 1513u);  // 1e-7..1e6 s at 0.99 %
}

TEST(QuantileSketchTest, MergeIsExactAndOrderIndependent) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> dist(std::log(0.01), 2);
  QuantileSketch a = secondsSketch(), b = secondsSketch(), c = secondsSketch(), all = secondsSketch();
  for (int i = 0; i < 30000; ++i) {
    double v = dist(rng) * (i % 3 == 0 ? 1 : i % 3 == 1 ? 100 : 0.01);
    (i % 3 == 0 ? a : i % 3 == 1 ? b : c).add(v);
    all.add(v);
  }
  all.add(0);
  c.add(0);
  QuantileSketch abc = secondsSketch(), cba = secondsSketch();
  abc.merge(a), abc.merge(b), abc.merge(c);
  cba.merge(c), cba.merge(b), cba.merge(a);
  cba.merge(secondsSketch());  // empty: no change
  EXPECT_EQ(abc.count(), all.count());
  EXPECT_EQ(abc.zeroCount(), all.zeroCount());
  EXPECT_GE(abc.zeroCount(), 1u);
  for (double q = 0; q <= 1; q += 0.001) {
    EXPECT_EQ(abc.quantile(q), all.quantile(q)) << q;
    EXPECT_EQ(cba.quantile(q), all.quantile(q)) << q;
  }
}

// observe() runs on the relay's loop threads: once the range it sees is
// allocated, it must not allocate again.
TEST(QuantileSketchTest, ObserveDoesNotAllocateAfterWarmUp) {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> dist(0.020, 0.400);
  Histogram h(HistogramUnit::kSeconds);
  h.observe(0.020);
  h.observe(0.400);  // warm: the range seen
  uint64_t before = g_allocations.load();
  for (int i = 0; i < 1000000; ++i) h.observe(dist(rng));
  h.observe(0);
  EXPECT_EQ(g_allocations.load() - before, 0u);

  // Growth is amortized: a value stream sweeping up the whole range reallocates
  // O(log range) times, not once per new bucket.
  Histogram sweep(HistogramUnit::kSeconds);
  before = g_allocations.load();
  for (double v = 1e-7; v < 1e6; v *= 1.001) sweep.observe(v);
  EXPECT_LE(g_allocations.load() - before, 24u);
}

// Memory: the fixed part plus 8 bytes per allocated bucket; printed for
// docs/metrics.md.
TEST(QuantileSketchTest, MemoryPerHistogram) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> uniform(0.020, 0.400);
  std::lognormal_distribution<double> lognormal(std::log(0.005), 1.5);
  Histogram u(HistogramUnit::kSeconds), l(HistogramUnit::kSeconds), c(HistogramUnit::kBytes);
  for (int i = 0; i < 100000; ++i) {
    u.observe(uniform(rng));
    l.observe(lognormal(rng));
    c.observe(1000);
  }
  std::printf("sizeof(Histogram) %zu, sizeof(QuantileSketch) %zu; buckets: uniform 20..400 ms %zu, "
              "log-normal(5 ms, 1.5) %zu, constant %zu\n",
              sizeof(Histogram), sizeof(QuantileSketch), u.sketch().bucketsAllocated(), l.sketch().bucketsAllocated(),
              c.sketch().bucketsAllocated());
  EXPECT_LE(sizeof(Histogram), 512u);
  EXPECT_LE(u.sketch().bucketsAllocated(), 2 * 152u);  // 152 used, plus growth slack
  EXPECT_LE(c.sketch().bucketsAllocated(), 33u);
  // A copy (the per-second snapshot) carries the counts, one allocation.
  uint64_t before = g_allocations.load();
  Histogram copy = l;
  EXPECT_EQ(g_allocations.load() - before, 1u);
  EXPECT_EQ(copy.quantile(0.99), l.quantile(0.99));
}

}  // namespace
}  // namespace grpcscope
