#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// 1 MiB requests over a 20 ms path: 7 round trips after an idle second,
// 2 on a busy connection.
Inputs idleRestart(double idle_rtts, double warm_rtts, int idle_n = 6, int warm_n = 6) {
  Inputs in;
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  for (int i = 0; i < idle_n; ++i) down.large_message_rtts_after_idle.observe(idle_rtts);
  for (int i = 0; i < warm_n; ++i) down.large_message_rtts_warm.observe(warm_rtts);
  for (int i = 0; i < 10; ++i) down.tcp_rtt.observe(0.02);
  return in;
}

TEST(TransportSlowStartAfterIdle, FiresOnExtraRoundTripsAfterIdle) {
  auto found = idleRestart(7, 2).run(&transportSlowStartAfterIdle);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "transport.slow_start_after_idle");
  EXPECT_EQ(f.layer, Layer::kTransport);
  EXPECT_EQ(f.scope.at("hop"), "downstream");
  EXPECT_NE(f.title.find("requests from the client"), std::string::npos);
  EXPECT_EQ(f.evidence["messages_after_idle"], 6);
  EXPECT_NEAR(f.evidence["rtts_after_idle_p50"].get<double>(), 7, 0.1);
  EXPECT_NEAR(f.evidence["rtts_warm_p50"].get<double>(), 2, 0.05);
  EXPECT_NEAR(f.evidence["extra_s"].get<double>(), 0.1, 0.005);
  EXPECT_NE(f.recommendation.find("net.ipv4.tcp_slow_start_after_idle=0"), std::string::npos);
}

TEST(TransportSlowStartAfterIdle, QuietBelowTheThresholds) {
  EXPECT_TRUE(idleRestart(3.9, 2).run(&transportSlowStartAfterIdle).empty());   // under 2 extra
  EXPECT_TRUE(idleRestart(14, 10).run(&transportSlowStartAfterIdle).empty());   // under 1.5 x
  EXPECT_EQ(idleRestart(16, 10).run(&transportSlowStartAfterIdle).size(), 1u);
  EXPECT_TRUE(idleRestart(7, 2, 4, 6).run(&transportSlowStartAfterIdle).empty());  // too few after idle
  EXPECT_TRUE(idleRestart(7, 2, 6, 4).run(&transportSlowStartAfterIdle).empty());  // no warm baseline
  Inputs lan = idleRestart(7, 2);
  HopStats& down = lan.hop(lan.last60s, Hop::kDownstream);
  down.tcp_rtt = Histogram(HistogramUnit::kSeconds);
  for (int i = 0; i < 10; ++i) down.tcp_rtt.observe(0.0005);
  EXPECT_TRUE(lan.run(&transportSlowStartAfterIdle).empty());
}

}  // namespace
}  // namespace grpcscope::findings
