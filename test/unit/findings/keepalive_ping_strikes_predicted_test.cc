#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

constexpr uint64_t kSecond = 1'000'000'000ull;

// A live connection whose client sent keepalive PINGs `interval_s` apart,
// the last one `since_s` ago, with `strikes` early ones under the default policy.
ConnectionView& pinging(Inputs& in, const std::string& peer, uint32_t strikes, double interval_s, double since_s,
                        uint32_t calls = 0) {
  ConnectionView c;
  c.worker = 0;
  c.id = in.current.connections.size() + 1;
  LegView& down = c.legs[static_cast<int>(Hop::kDownstream)];
  down.opened = true;
  down.peer = peer;
  down.keepalive_pings = strikes + 1;
  down.ping_strikes = strikes;
  down.last_keepalive_interval_ns = static_cast<uint64_t>(interval_s * kSecond);
  down.last_keepalive_ping_ns = in.current.now_ns - static_cast<uint64_t>(since_s * kSecond);
  down.calls_at_last_ping = calls;
  c.legs[static_cast<int>(Hop::kUpstream)].opened = true;
  in.current.connections.push_back(c);
  return in.current.connections.back();
}

TEST(KeepalivePingStrikesPredicted, FiresBeforeTheThirdStrike) {
  Inputs in;
  pinging(in, "10.0.0.7:5000", 1, 2.0, 0.5);
  auto found = in.run(&keepalivePingStrikesPredicted);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "keepalive.ping_strikes_predicted");
  EXPECT_EQ(f.layer, Layer::kConnection);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("client"), "10.0.0.7");
  EXPECT_EQ(f.evidence["strikes"], 1);
  EXPECT_EQ(f.evidence["strikes_allowed"], 2);
  EXPECT_EQ(f.evidence["client_ping_interval_s"], 2.0);
  EXPECT_NEAR(f.evidence["third_strike_in_s"].get<double>(), 3.5, 0.01);  // two more PINGs, 0.5 s gone
  EXPECT_EQ(f.evidence["calls_active"], 0);
  EXPECT_EQ(f.evidence["assumed_min_ping_interval_s"], 7200);  // no call open: none permitted
  EXPECT_EQ(f.evidence["policy_source"], "grpc_default");
  for (const char* option : {"keepalive.ClientParameters", "grpc.keepalive_time_ms", "keepAliveTime",
                             "keepalive.EnforcementPolicy", "grpc.http2.min_ping_interval_without_data_ms",
                             "permitKeepAliveTime"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(KeepalivePingStrikesPredicted, QuietBelowOneStrike) {
  Inputs in;
  pinging(in, "10.0.0.7:5000", 0, 2.0, 0.5);
  EXPECT_TRUE(in.run(&keepalivePingStrikesPredicted).empty());
}

TEST(KeepalivePingStrikesPredicted, QuietWhenTheClientStoppedPinging) {
  Inputs in;
  pinging(in, "10.0.0.7:5000", 2, 2.0, 5.1);  // 2.5 intervals is the limit
  EXPECT_TRUE(in.run(&keepalivePingStrikesPredicted).empty());
  Inputs just;
  pinging(just, "10.0.0.7:5000", 2, 2.0, 4.9);
  EXPECT_EQ(just.run(&keepalivePingStrikesPredicted).size(), 1u);
}

TEST(KeepalivePingStrikesPredicted, QuietWhenTheServerToleratesIt) {
  Inputs in;
  pinging(in, "10.0.0.7:5000", 2, 2.0, 0.5).legs[0].strikes_tolerated = true;
  EXPECT_TRUE(in.run(&keepalivePingStrikesPredicted).empty());
  // Another connection of the server let this cadence through: a laxer policy.
  Inputs other;
  other.current.stats.pings_by_client["10.0.0.9"].tolerated_interval_ns = 2 * kSecond;
  pinging(other, "10.0.0.7:5000", 2, 2.0, 0.5);
  EXPECT_TRUE(other.run(&keepalivePingStrikesPredicted).empty());
  pinging(other, "10.0.0.8:5000", 2, 1.0, 0.5);  // faster than what it let through
  EXPECT_EQ(other.run(&keepalivePingStrikesPredicted).size(), 1u);
}

TEST(KeepalivePingStrikesPredicted, QuietOnceTheGoawayCame) {
  Inputs in;
  ConnectionView& c = pinging(in, "10.0.0.7:5000", 2, 2.0, 0.5);
  c.legs[1].goaway = true;
  c.legs[1].goaway_code = 0xb;
  EXPECT_TRUE(in.run(&keepalivePingStrikesPredicted).empty());
}

TEST(KeepalivePingStrikesPredicted, UsesAPastTooManyPings) {
  Inputs in;
  in.current.stats.pings_by_client["10.0.0.7"].addGoaway({.at_ns = 1, .interval_ns = 3 * kSecond});
  pinging(in, "10.0.0.7:5001", 2, 2.0, 0.0, 3);
  auto found = in.run(&keepalivePingStrikesPredicted);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].evidence["policy_source"], "past_too_many_pings");
  EXPECT_EQ(found[0].evidence["past_goaway_ping_interval_s"], 3.0);
  EXPECT_EQ(found[0].evidence["certain"], true);
  EXPECT_EQ(found[0].evidence["assumed_min_ping_interval_s"], 300);  // calls open
  EXPECT_NEAR(found[0].evidence["third_strike_in_s"].get<double>(), 2.0, 0.01);
}

TEST(KeepalivePingStrikesPredicted, OnePerClientAtMostMaxPerRule) {
  Inputs in;
  pinging(in, "10.0.0.7:5000", 1, 2.0, 0.5);
  pinging(in, "10.0.0.7:5001", 2, 2.0, 0.5);  // nearer its third strike
  for (int i = 0; i < 20; ++i) pinging(in, "10.0.1." + std::to_string(i) + ":1", 1, 2.0, 0.5);
  auto found = in.run(&keepalivePingStrikesPredicted);
  EXPECT_EQ(found.size(), kMaxPerRule);
  EXPECT_EQ(found[0].scope.at("client"), "10.0.0.7");
  EXPECT_EQ(found[0].evidence["strikes"], 2);
}

}  // namespace
}  // namespace grpcscope::findings
