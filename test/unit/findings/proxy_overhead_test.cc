#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

void calls(WorkerStats& s, int n, double call_s, double proxy_s) {
  for (int i = 0; i < n; ++i) {
    s.call_duration.observe(call_s);
    s.proxy_time.observe(proxy_s);
  }
  s.calls_finished = static_cast<uint64_t>(n);
}

TEST(ProxyOverhead, FiresOnProxyTime) {
  Inputs in;
  calls(in.last60s.stats, 100, 0.010, 0.002);
  auto found = in.run(&proxyOverhead);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "proxy.overhead");
  EXPECT_EQ(f.layer, Layer::kProxy);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("cause"), "proxy_time");
  EXPECT_NEAR(f.evidence["proxy_share"].get<double>(), 0.2, 0.005);
  EXPECT_NE(f.recommendation.find("--workers"), std::string::npos);
}

TEST(ProxyOverhead, FiresOnThreeLateTicks) {
  Inputs in;
  WorkerStats& s = in.last60s.stats;
  calls(s, 100, 0.001, 0.00001);
  for (int i = 0; i < 57; ++i) s.loop_lag.observe(0.0002);
  for (int i = 0; i < 3; ++i) s.loop_lag.observe(0.4);
  auto found = in.run(&proxyOverhead);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].scope.at("cause"), "loop_lag");
  EXPECT_NEAR(found[0].evidence["loop_lag_max_s"].get<double>(), 0.4, 0.005);
  EXPECT_EQ(found[0].evidence["ticks"], 60);
}

TEST(ProxyOverhead, DroppedEventsAreInfo) {
  Inputs in;
  in.last60s.stats.tap_dropped = 10;
  auto found = in.run(&proxyOverhead);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].scope.at("cause"), "dropped_events");
  EXPECT_EQ(found[0].severity, Severity::kInfo);
  EXPECT_EQ(found[0].evidence["events_dropped"], 10);
}

TEST(ProxyOverhead, QuietOnAHealthyProxy) {
  Inputs in;
  WorkerStats& s = in.last60s.stats;
  calls(s, 1000, 0.0005, 0.00009);   // fast calls: a large share, but well under 1 ms
  for (int i = 0; i < 58; ++i) s.loop_lag.observe(0.0002);
  for (int i = 0; i < 2; ++i) s.loop_lag.observe(0.5);  // two late ticks: one more is needed
  s.tap_dropped = 9;
  EXPECT_TRUE(in.run(&proxyOverhead).empty());
  Inputs slow;  // 1 ms inside grpcscope of 20 ms calls: 5 %
  calls(slow.last60s.stats, 100, 0.020, 0.001);
  EXPECT_TRUE(slow.run(&proxyOverhead).empty());
  Inputs lag;  // three late ticks, each just under 100 ms
  for (int i = 0; i < 3; ++i) lag.last60s.stats.loop_lag.observe(0.095);
  EXPECT_TRUE(lag.run(&proxyOverhead).empty());
}

}  // namespace
}  // namespace grpcscope::findings
