#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

constexpr uint64_t kS = 1'000'000'000ull;

// One live connection whose server allows `limit` streams, `open` of them open now.
void liveConnection(Inputs& in, uint32_t limit, uint32_t open) {
  ConnectionView c;
  c.id = 1;
  for (LegView& leg : c.legs) leg.opened = true;
  c.legs[static_cast<int>(Hop::kUpstream)].settings_received[0x3] = limit;
  c.legs[static_cast<int>(Hop::kDownstream)].settings_sent[0x3] = limit;
  in.current.connections.push_back(c);
  LiveConnectionFacts facts;
  facts.id = 1;
  for (LiveLegFacts& leg : facts.legs) {
    leg.open = true;
    leg.open_streams = open;
  }
  in.current.live.push_back(facts);
}

void busy(Inputs& in, Hop hop, double busy_s, double full_s) {
  HopStats& h = in.hop(in.last10s, hop);
  h.stream_limit_busy_ns = static_cast<uint64_t>(busy_s * kS);
  h.stream_limit_full_ns = static_cast<uint64_t>(full_s * kS);
}

TEST(ConnectionMaxConcurrentStreamsSaturated, FiresUpstreamOnceForTheServersLimit) {
  Inputs in;
  liveConnection(in, 4, 4);
  busy(in, Hop::kUpstream, 9.5, 8);
  busy(in, Hop::kDownstream, 9.5, 8);  // the same limit, mirrored to the client
  auto found = in.run(&connectionMaxConcurrentStreamsSaturated);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "connection.max_concurrent_streams_saturated");
  EXPECT_EQ(f.layer, Layer::kConnection);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_NEAR(f.evidence["at_limit_share"].get<double>(), 8 / 9.5, 0.01);
  EXPECT_EQ(f.evidence["max_concurrent_streams"], 4);
  EXPECT_EQ(f.evidence["live_connections_at_limit"], 1);
  for (const char* option : {"grpc.MaxConcurrentStreams", "grpc.max_concurrent_streams", "maxConcurrentCallsPerConnection"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(ConnectionMaxConcurrentStreamsSaturated, DownstreamWhenOnlyGrpcscopesOwnLimitIsFull) {
  Inputs in;
  busy(in, Hop::kDownstream, 5, 4);
  auto found = in.run(&connectionMaxConcurrentStreamsSaturated);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].scope.at("hop"), "downstream");
  EXPECT_NE(found[0].recommendation.find("--max-concurrent-streams"), std::string::npos);
}

TEST(ConnectionMaxConcurrentStreamsSaturated, QuietJustBelowTheShare) {
  Inputs in;
  busy(in, Hop::kUpstream, 10, 2.4);
  EXPECT_TRUE(in.run(&connectionMaxConcurrentStreamsSaturated).empty());
}

TEST(ConnectionMaxConcurrentStreamsSaturated, QuietWithTooLittleBusyTime) {
  Inputs in;
  busy(in, Hop::kUpstream, 2.9, 2.9);
  EXPECT_TRUE(in.run(&connectionMaxConcurrentStreamsSaturated).empty());
}

}  // namespace
}  // namespace grpcscope::findings
