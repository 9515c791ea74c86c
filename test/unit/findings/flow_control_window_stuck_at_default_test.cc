#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// A server that never offers more than 65535 bytes and sends no PING, while
// grpcscope uploads 8 MiB to it and waits on its window 40 % of the time.
Inputs stuck() {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.data_bytes[kSent] = 8u << 20;
  up.send_active_ns = 10'000'000'000ull;
  up.stall_ns = 4'000'000'000ull;
  up.stalls = 128;
  ConnectionView c;
  LegView& leg = c.legs[1];
  leg.opened = true;
  leg.data_bytes[kSent] = 8u << 20;
  leg.conn_window_increments_received = (8u << 20) - 65535;  // returned what it got, no more
  leg.stalls = 128;
  leg.stall_ns = 4'000'000'000ull;
  in.current.connections.push_back(c);
  return in;
}

TEST(FlowControlWindowStuckAtDefault, FiresForAPeerThatNeverGrowsItsWindows) {
  Inputs in = stuck();
  auto found = in.run(&flowControlWindowStuckAtDefault);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "flow_control.window_stuck_at_default");
  EXPECT_EQ(f.layer, Layer::kFlowControl);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.evidence["connections"], 1);
  EXPECT_EQ(f.evidence["peer_initial_window_bytes"], 65535);
  EXPECT_EQ(f.evidence["peer_pings"], 0);
  EXPECT_EQ(f.evidence["connection_stalls"], 128);
  EXPECT_NEAR(f.evidence["blocked_share"].get<double>(), 0.4, 0.001);
  for (const char* option : {"grpc.http2.bdp_probe", "InitialWindowSize", "initialFlowControlWindow"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(FlowControlWindowStuckAtDefault, QuietWhenThePeerGrowsItsWindows) {
  Inputs bigger = stuck();
  bigger.current.connections[0].legs[1].settings_received[0x4] = 65536;
  EXPECT_TRUE(bigger.run(&flowControlWindowStuckAtDefault).empty());
  Inputs grown = stuck();
  grown.current.connections[0].legs[1].conn_window_increments_received = (8u << 20) + 1;
  EXPECT_TRUE(grown.run(&flowControlWindowStuckAtDefault).empty());
  Inputs pings = stuck();
  pings.current.connections[0].legs[1].pings[kReceived] = 1;  // a BDP probe (or any PING)
  EXPECT_TRUE(pings.run(&flowControlWindowStuckAtDefault).empty());
}

TEST(FlowControlWindowStuckAtDefault, QuietWhenItDoesNotMatter) {
  Inputs idle = stuck();
  idle.hop(idle.last60s, Hop::kUpstream).stall_ns = 1'990'000'000ull;  // 19.9 % blocked
  EXPECT_TRUE(idle.run(&flowControlWindowStuckAtDefault).empty());
  Inputs small = stuck();
  small.current.connections[0].legs[1].data_bytes[kSent] = (4u << 20) - 1;
  small.current.connections[0].legs[1].conn_window_increments_received = 0;
  EXPECT_TRUE(small.run(&flowControlWindowStuckAtDefault).empty());
  Inputs few = stuck();
  few.current.connections[0].legs[1].stalls = 9;
  EXPECT_TRUE(few.run(&flowControlWindowStuckAtDefault).empty());
  Inputs closed = stuck();
  closed.current.connections[0].legs[1].closed = true;
  EXPECT_TRUE(closed.run(&flowControlWindowStuckAtDefault).empty());
}

}  // namespace
}  // namespace grpcscope::findings
