#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// A hop sending to a server whose 64 KiB stream window returns once per
// 100 ms round trip: 640 KiB/s, blocked 90 % of the sending time.
Inputs windowLimited() {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.data_bytes[kSent] = 10 * 655360;       // 10 s at 64 KiB per 100 ms
  up.send_active_ns = 10'000'000'000ull;
  up.stalls = 100;
  up.stall_ns = 9'000'000'000ull;          // 90 ms per stall
  up.connection_stalls = 0;
  for (int i = 0; i < 10; ++i) up.ping_rtt.observe(0.1);
  for (int i = 0; i < 10; ++i) up.tcp_rtt.observe(0.00005);
  ConnectionView c;
  c.legs[1].opened = true;
  c.legs[1].stalls = 100;
  c.legs[1].settings_received[0x4] = 65535;
  in.current.connections.push_back(c);
  return in;
}

TEST(FlowControlWindowLimited, FiresWhenTheWindowCapsThroughput) {
  Inputs in = windowLimited();
  auto found = in.run(&flowControlWindowLimited);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "flow_control.window_limited");
  EXPECT_EQ(f.layer, Layer::kFlowControl);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.evidence["window"], "stream");
  EXPECT_EQ(f.evidence["window_bytes"], 65535);
  EXPECT_EQ(f.evidence["rtt_source"], "ping");
  EXPECT_NEAR(f.evidence["rtt_s"].get<double>(), 0.1, 0.002);
  EXPECT_NEAR(f.evidence["throughput_bytes_per_s"].get<double>(), 655360, 1000);
  EXPECT_NEAR(f.evidence["blocked_share"].get<double>(), 0.9, 0.001);
  // 655 KB/s while blocked 90 %: about 6.5 MB/s unblocked, times 100 ms.
  EXPECT_NEAR(f.evidence["bdp_estimate_bytes"].get<double>(), 655360.0, 10000);
  EXPECT_NE(f.title.find("server"), std::string::npos);
  for (const char* option : {"grpc.http2.bdp_probe", "grpc.http2.lookahead_bytes", "InitialWindowSize",
                             "WithInitialConnWindowSize", "initialFlowControlWindow", "flowControlWindow"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(FlowControlWindowLimited, ConnectionWindowWhenItClosedFirst) {
  Inputs in = windowLimited();
  in.hop(in.last60s, Hop::kUpstream).connection_stalls = 60;
  auto found = in.run(&flowControlWindowLimited);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].evidence["window"], "connection");
}

TEST(FlowControlWindowLimited, TcpRttWithoutPings) {
  Inputs in = windowLimited();
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.ping_rtt = Histogram(HistogramUnit::kSeconds);
  up.tcp_rtt = Histogram(HistogramUnit::kSeconds);
  for (int i = 0; i < 10; ++i) up.tcp_rtt.observe(0.1);
  auto found = in.run(&flowControlWindowLimited);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].evidence["rtt_source"], "tcp");
}

TEST(FlowControlWindowLimited, QuietBelowTheBlockedShare) {
  Inputs in = windowLimited();
  in.hop(in.last60s, Hop::kUpstream).stall_ns = 2'490'000'000ull;  // 24.9 % of 10 s
  EXPECT_TRUE(in.run(&flowControlWindowLimited).empty());
  in.hop(in.last60s, Hop::kUpstream).stall_ns = 2'510'000'000ull;
  EXPECT_EQ(in.run(&flowControlWindowLimited).size(), 1u);
}

TEST(FlowControlWindowLimited, FiresWhenTheWaitsRunTogether) {
  // The window reopened and closed again within one loop turn: 2 waits of 4.5 s.
  Inputs in = windowLimited();
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.stalls = 2;
  EXPECT_EQ(in.run(&flowControlWindowLimited).size(), 1u);
}

TEST(FlowControlWindowLimited, QuietOnAShortRttPath) {
  // 100 MB/s, 4000 waits of 0.8 ms (32 % of the time): fires at 1.1 ms, not at 0.9 ms.
  for (double rtt : {0.0009, 0.0011}) {
    Inputs in = windowLimited();
    HopStats& up = in.hop(in.last60s, Hop::kUpstream);
    up.data_bytes[kSent] = 1'000'000'000;
    up.stalls = 4000;
    up.stall_ns = 4000 * 800'000ull;
    up.ping_rtt = Histogram(HistogramUnit::kSeconds);
    for (int i = 0; i < 10; ++i) up.ping_rtt.observe(rtt);
    EXPECT_EQ(in.run(&flowControlWindowLimited).size(), rtt < 0.001 ? 0u : 1u) << rtt;
  }
}

TEST(FlowControlWindowLimited, QuietWhenFarBelowWindowPerRtt) {
  Inputs in = windowLimited();
  // Half a window per round trip would be 327680 B/s; the source delivers less.
  in.hop(in.last60s, Hop::kUpstream).data_bytes[kSent] = 10 * 320000;
  EXPECT_TRUE(in.run(&flowControlWindowLimited).empty());
  in.hop(in.last60s, Hop::kUpstream).data_bytes[kSent] = 10 * 330000;
  EXPECT_EQ(in.run(&flowControlWindowLimited).size(), 1u);
}

TEST(FlowControlWindowLimited, QuietWithoutSustainedTransferOrStalls) {
  Inputs in = windowLimited();
  in.hop(in.last60s, Hop::kUpstream).stalls = 0;
  in.hop(in.last60s, Hop::kUpstream).stall_ns = 0;
  EXPECT_TRUE(in.run(&flowControlWindowLimited).empty());
  Inputs brief = windowLimited();
  brief.hop(brief.last60s, Hop::kUpstream).send_active_ns = 999'000'000;
  brief.hop(brief.last60s, Hop::kUpstream).stall_ns = 900'000'000;
  EXPECT_TRUE(brief.run(&flowControlWindowLimited).empty());
  Inputs small = windowLimited();
  small.hop(small.last60s, Hop::kUpstream).data_bytes[kSent] = (1u << 20) - 1;
  EXPECT_TRUE(small.run(&flowControlWindowLimited).empty());
  Inputs none;
  EXPECT_TRUE(none.run(&flowControlWindowLimited).empty());
}

}  // namespace
}  // namespace grpcscope::findings
