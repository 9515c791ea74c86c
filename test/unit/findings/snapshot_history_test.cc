// Windows as differences of cumulative snapshots: exact counters, histogram
// percentiles of the window only, the span each window really covers.
#include <gtest/gtest.h>

#include "analysis/findings/snapshot_history.h"

namespace grpcscope::findings {
namespace {

// A worker that, in second s, finishes `calls_per_second(s)` calls of
// duration `latency(s)` seconds.
struct Workload {
  WorkerStats stats;
  void second(uint64_t calls, double latency) {
    for (uint64_t i = 0; i < calls; ++i) {
      ++stats.calls_started;
      ++stats.calls_finished;
      ++stats.by_status[0];
      stats.call_duration.observe(latency);
      MethodStats& m = stats.methods["pkg.S/M"];
      ++m.started;
      ++m.finished;
      ++m.by_status[0];
      m.duration.observe(latency);
    }
  }
  StatsSnapshot at(double t) const {
    StatsSnapshot s;
    s.t = t;
    s.stats = stats;
    return s;
  }
};

TEST(SnapshotHistory, TenAndSixtySecondWindowsAreExact) {
  SnapshotHistory history;
  Workload w;
  // 90 s: 10 calls a second of 100 ms, except the last 10 s: 50 a second of 1 s.
  for (int t = 1; t <= 90; ++t) {
    if (t <= 80) {
      w.second(10, 0.1);
    } else {
      w.second(50, 1.0);
    }
    StatsSnapshot now = w.at(t);
    if (t == 90) {
      StatsWindow ten = history.window(now, 10);
      EXPECT_DOUBLE_EQ(ten.seconds, 10);
      EXPECT_EQ(ten.stats.calls_finished, 500u);
      EXPECT_NEAR(ten.stats.call_duration.quantile(0.5), 1.0, 0.01);
      EXPECT_NEAR(ten.stats.call_duration.quantile(0.99), 1.0, 0.01);
      EXPECT_EQ(ten.stats.methods.at("pkg.S/M").finished, 500u);
      StatsWindow sixty = history.window(now, 60);
      EXPECT_GE(sixty.seconds, 60);
      EXPECT_LE(sixty.seconds, 60 + SnapshotHistory::kCoarseStep);
      uint64_t expected = 500 + 10 * static_cast<uint64_t>(sixty.seconds - 10);
      EXPECT_EQ(sixty.stats.calls_finished, expected);
      // Cumulative p50 is 100 ms; the last minute's is 100 ms, its p99 1 s.
      EXPECT_NEAR(sixty.stats.call_duration.quantile(0.99), 1.0, 0.01);
      EXPECT_NEAR(now.stats.call_duration.quantile(0.5), 0.1, 0.001);
    }
    history.add(now);
  }
  // Fine snapshots for 12 s plus one per 5 s back to 66 s: bounded memory.
  EXPECT_LE(history.kept(), 12u + 66u / 5u + 2u);
}

TEST(SnapshotHistory, AYoungProcessGetsWhatThereIs) {
  SnapshotHistory history;
  Workload w;
  StatsSnapshot first = w.at(1);
  EXPECT_TRUE(history.window(first, 10).empty());  // nothing earlier yet
  history.add(first);
  w.second(7, 0.01);
  StatsWindow ten = history.window(w.at(4), 10);
  EXPECT_DOUBLE_EQ(ten.seconds, 3);
  EXPECT_EQ(ten.stats.calls_finished, 7u);
}

TEST(SnapshotHistory, AQuietWindowIsEmptyButTotalsStay) {
  SnapshotHistory history;
  Workload w;
  w.second(100, 0.05);
  for (int t = 1; t <= 30; ++t) history.add(w.at(t));
  StatsSnapshot now = w.at(31);
  StatsWindow ten = history.window(now, 10);
  EXPECT_EQ(ten.stats.calls_finished, 0u);
  EXPECT_EQ(ten.stats.call_duration.count(), 0u);
  EXPECT_EQ(ten.stats.call_duration.quantile(0.99), 0);
  EXPECT_EQ(now.stats.calls_finished, 100u);
}

TEST(StatsSubtract, HistogramPercentilesOfTheDifferenceStayWithinOnePercent) {
  Histogram earlier(HistogramUnit::kSeconds);
  for (int i = 1; i <= 1000; ++i) earlier.observe(i * 0.001);  // 1..1000 ms
  Histogram later = earlier;
  for (int i = 1; i <= 1000; ++i) later.observe(2 + i * 0.002);  // 2.002..4 s
  Histogram diff = later;
  diff.subtract(earlier);
  EXPECT_EQ(diff.count(), 1000u);
  EXPECT_NEAR(diff.sum(), later.sum() - earlier.sum(), 1e-9);
  for (double q : {0.01, 0.5, 0.9, 0.99}) {
    double exact = 2 + std::ceil(q * 1000) * 0.002;
    EXPECT_NEAR(diff.quantile(q), exact, exact * 0.01) << q;
  }
  // The extremes: the maximum is exact (same bucket as the cumulative one),
  // the minimum within 1 % (its bucket's value).
  EXPECT_DOUBLE_EQ(diff.quantile(1.0), 4.0);
  EXPECT_NEAR(diff.quantile(0), 2.002, 2.002 * 0.01);
}

TEST(StatsSubtract, CountersOfEveryPartAreDifferences) {
  WorkerStats earlier;
  earlier.hops[1].goaway_debug.add("too_many_pings");
  earlier.hops[1].goaway[0][0xb] = 1;
  earlier.hops[0].tls_handshakes[{"TLSv1.3", "h2", false}] = 3;
  earlier.upstream_failures = 2;
  earlier.upstream_failure_causes.add("connection refused", 2);
  WorkerStats later = earlier;
  later.hops[1].goaway_debug.add("too_many_pings");
  later.hops[1].goaway_debug.add("max_age");
  later.hops[1].goaway[0][0xb] = 2;
  later.hops[0].tls_handshakes[{"TLSv1.3", "h2", true}] = 4;
  later.upstream_failures = 2;
  later.subtract(earlier);
  EXPECT_EQ(later.hops[1].goaway_debug.count("too_many_pings"), 1u);
  EXPECT_EQ(later.hops[1].goaway_debug.count("max_age"), 1u);
  EXPECT_EQ(later.hops[1].goaway[0][0xb], 1u);
  EXPECT_EQ(later.hops[0].tls_handshakes.count({"TLSv1.3", "h2", false}), 0u);
  EXPECT_EQ((later.hops[0].tls_handshakes[{"TLSv1.3", "h2", true}]), 4u);
  EXPECT_EQ(later.upstream_failures, 0u);
  EXPECT_TRUE(later.upstream_failure_causes.empty());
}

}  // namespace
}  // namespace grpcscope::findings
