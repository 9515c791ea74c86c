#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// A client that reads a server stream every 200 ms over a 50 us path: its
// stream window closes, and reopens 200 ms later, 20 times in the window.
Inputs slowReader() {
  Inputs in;
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.data_bytes[kSent] = 20 * 262144;
  down.send_active_ns = 4'200'000'000ull;
  down.stalls = 20;
  down.stall_ns = 4'000'000'000ull;
  down.connection_stalls = 0;
  for (int i = 0; i < 10; ++i) down.tcp_rtt.observe(0.00005);
  MethodStats m;
  m.stalls = 20;
  m.stall_ns = 4'000'000'000ull;
  in.last60s.stats.methods.emplace("grpcscope.test.Echo/ServerStream", m);
  return in;
}

TEST(FlowControlSlowReader, FiresOnLongStreamWaitsWithTheConnectionOpen) {
  Inputs in = slowReader();
  auto found = in.run(&flowControlSlowReader);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "flow_control.slow_reader");
  EXPECT_EQ(f.layer, Layer::kFlowControl);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "downstream");
  EXPECT_EQ(f.evidence["stalls"], 20);
  EXPECT_NEAR(f.evidence["mean_stall_s"].get<double>(), 0.2, 0.001);
  EXPECT_EQ(f.evidence["stream_only_stall_share"], 1.0);
  EXPECT_EQ(f.evidence["rtt_source"], "tcp");
  EXPECT_GT(f.evidence["stall_rtts"].get<double>(), 1000);
  EXPECT_EQ(f.evidence["top_method"], "grpcscope.test.Echo/ServerStream");
  EXPECT_NE(f.title.find("client"), std::string::npos);
  EXPECT_NE(f.recommendation.find("grpc.http2.lookahead_bytes"), std::string::npos);
  EXPECT_NE(f.recommendation.find("only buffers more"), std::string::npos);
}

TEST(FlowControlSlowReader, QuietWhenTheConnectionWindowClosedToo) {
  Inputs in = slowReader();
  in.hop(in.last60s, Hop::kDownstream).connection_stalls = 16;  // 4 of 20 stream-only: below a quarter
  EXPECT_TRUE(in.run(&flowControlSlowReader).empty());
  in.hop(in.last60s, Hop::kDownstream).connection_stalls = 15;  // exactly a quarter
  EXPECT_EQ(in.run(&flowControlSlowReader).size(), 1u);
}

TEST(FlowControlSlowReader, QuietWhenWaitsAreAboutARoundTrip) {
  Inputs in = slowReader();
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.data_bytes[kSent] = 20 * 65536;  // 312 KB/s: well under half a window per round trip
  down.tcp_rtt = Histogram(HistogramUnit::kSeconds);
  for (int i = 0; i < 10; ++i) down.tcp_rtt.observe(0.06);  // 200 ms < 4 x 60 ms
  EXPECT_TRUE(in.run(&flowControlSlowReader).empty());
  down.tcp_rtt = Histogram(HistogramUnit::kSeconds);
  for (int i = 0; i < 10; ++i) down.tcp_rtt.observe(0.045);  // 200 ms > 4 x 45 ms
  EXPECT_EQ(in.run(&flowControlSlowReader).size(), 1u);
}

TEST(FlowControlSlowReader, QuietWhenHalfAWindowMovesPerRoundTrip) {
  // 1.25 MB/s against a 64 KiB window: fires at a 10 ms RTT (12.5 KB per
  // round trip), not at 40 ms (50 KB: the window caps the rate).
  for (double rtt : {0.01, 0.04}) {
    Inputs in = slowReader();
    HopStats& down = in.hop(in.last60s, Hop::kDownstream);
    down.tcp_rtt = Histogram(HistogramUnit::kSeconds);
    for (int i = 0; i < 10; ++i) down.tcp_rtt.observe(rtt);
    EXPECT_EQ(in.run(&flowControlSlowReader).size(), rtt < 0.02 ? 1u : 0u) << rtt;
  }
}

TEST(FlowControlSlowReader, QuietOnShortWaitsAndFewStalls) {
  Inputs in = slowReader();
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.stalls = 60;
  down.stall_ns = 60 * 19'000'000ull;  // 19 ms each: under 20 ms (and 1.14 s in all)
  EXPECT_TRUE(in.run(&flowControlSlowReader).empty());
  Inputs few = slowReader();
  few.hop(few.last60s, Hop::kDownstream).stalls = 2;
  EXPECT_TRUE(few.run(&flowControlSlowReader).empty());
  Inputs brief = slowReader();
  brief.hop(brief.last60s, Hop::kDownstream).stall_ns = 999'000'000ull;
  EXPECT_TRUE(brief.run(&flowControlSlowReader).empty());
}

TEST(FlowControlSlowReader, TcpRttIsTheKernelsMinimumOnLiveConnections) {
  Inputs in = slowReader();
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.tcp_rtt = Histogram(HistogramUnit::kSeconds);
  for (int i = 0; i < 10; ++i) down.tcp_rtt.observe(0.06);  // smoothed RTT inflated: 200 ms < 4 x 60 ms
  EXPECT_TRUE(in.run(&flowControlSlowReader).empty());
  ConnectionView c;
  c.legs[0].opened = true;
  c.legs[0].tcp.valid = true;
  c.legs[0].tcp.min_rtt_us = 30;  // the path: 30 us
  in.current.connections.push_back(c);
  auto found = in.run(&flowControlSlowReader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NEAR(found[0].evidence["rtt_s"].get<double>(), 0.00003, 1e-7);
  EXPECT_NEAR(found[0].evidence["rtt_p50_s"].get<double>(), 0.06, 0.001);
}

TEST(FlowControlSlowReader, QuietWithoutAnRtt) {
  Inputs in = slowReader();
  in.hop(in.last60s, Hop::kDownstream).tcp_rtt = Histogram(HistogramUnit::kSeconds);
  EXPECT_TRUE(in.run(&flowControlSlowReader).empty());
}

}  // namespace
}  // namespace grpcscope::findings
