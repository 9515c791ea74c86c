#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

TEST(KeepaliveTooManyPings, FiresOnTheServersGoaway) {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.goaway_debug.add("too_many_pings");
  up.goaway[kReceived][0xb] = 1;
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.pings[kReceived] = 12;
  for (int i = 0; i < 11; ++i) down.ping_interval.observe(1.0);
  auto found = in.run(&keepaliveTooManyPings);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "keepalive.too_many_pings");
  EXPECT_EQ(f.layer, Layer::kConnection);
  EXPECT_EQ(f.severity, Severity::kCritical);
  EXPECT_EQ(f.evidence["goaways_too_many_pings"], 1);
  EXPECT_NEAR(f.evidence["client_ping_interval_p50_s"].get<double>(), 1.0, 0.02);
  for (const char* option : {"keepalive.EnforcementPolicy", "grpc.keepalive_time_ms", "permitKeepAliveTime"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(KeepaliveTooManyPings, QuietWithoutIt) {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.goaway_debug.add("max_age");  // another GOAWAY text is not this finding
  up.goaway[kReceived][0xb] = 1;
  EXPECT_TRUE(in.run(&keepaliveTooManyPings).empty());
}

// Two connections of one client, each closed for too many pings, the second
// after the client doubled its interval (gRPC's backoff), no call open.
TEST(KeepaliveTooManyPings, ScopesByClientWithItsBackoff) {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.goaway_debug.add("too_many_pings");
  up.goaway_debug.add("too_many_pings");
  up.goaway[kReceived][0xb] = 2;
  ClientPings& p = in.current.stats.pings_by_client["10.0.0.7"];
  p.addGoaway({.at_ns = in.current.now_ns - 20'000'000'000ull, .interval_ns = 1'000'000'000ull, .calls_active = 0,
               .pings = 4});
  p.addGoaway({.at_ns = in.current.now_ns - 5'000'000'000ull, .interval_ns = 2'000'000'000ull, .calls_active = 0,
               .pings = 4});
  // Another client's GOAWAY is older than the window: not reported.
  in.current.stats.pings_by_client["10.0.0.8"].addGoaway(
      {.at_ns = in.current.now_ns - 90'000'000'000ull, .interval_ns = 1'000'000'000ull});
  auto found = in.run(&keepaliveTooManyPings);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.scope.at("client"), "10.0.0.7");
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.evidence["goaways_too_many_pings"], 2);
  EXPECT_EQ(f.evidence["client_ping_interval_s"], 2.0);
  EXPECT_EQ(f.evidence["client_ping_interval_by_connection_s"], nlohmann::json::array({1.0, 2.0}));
  EXPECT_EQ(f.evidence["calls_active_at_goaway"], 0);
  EXPECT_EQ(f.evidence["reconnects"], 1);
  EXPECT_EQ(f.evidence["client_backed_off"], true);
  EXPECT_EQ(f.evidence["client_backoff_factor"], 2.0);
  // No call open: the fix names the options about pings without calls.
  EXPECT_NE(f.recommendation.find("PermitWithoutStream"), std::string::npos);
  EXPECT_NE(f.recommendation.find("keepAliveWithoutCalls"), std::string::npos);
}

TEST(KeepaliveTooManyPings, NoBackoffWhenTheIntervalStays) {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.goaway_debug.add("too_many_pings");
  ClientPings& p = in.current.stats.pings_by_client["10.0.0.7"];
  for (int i = 0; i < 3; ++i) {
    p.addGoaway({.at_ns = in.current.now_ns - (30 - i) * 1'000'000'000ull, .interval_ns = 1'000'000'000ull,
                 .calls_active = 1});
  }
  auto found = in.run(&keepaliveTooManyPings);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].evidence["client_backed_off"], false);
  EXPECT_EQ(found[0].evidence["calls_active_at_goaway"], 1);
  EXPECT_EQ(found[0].recommendation.find("PermitWithoutStream: true"), std::string::npos);
}

TEST(KeepaliveTooManyPings, BackoffNeedsARatioOfOneAndAHalf) {
  for (auto [second, backed_off] : {std::pair{1.4, false}, std::pair{1.6, true}}) {
    Inputs in;
    in.hop(in.last60s, Hop::kUpstream).goaway_debug.add("too_many_pings");
    ClientPings& p = in.current.stats.pings_by_client["10.0.0.7"];
    p.addGoaway({.at_ns = in.current.now_ns - 9'000'000'000ull, .interval_ns = 1'000'000'000ull});
    p.addGoaway({.at_ns = in.current.now_ns - 1'000'000'000ull,
                 .interval_ns = static_cast<uint64_t>(second * 1e9)});
    auto found = in.run(&keepaliveTooManyPings);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].evidence["client_backed_off"], backed_off) << second;
  }
}

TEST(KeepaliveTooManyPings, AtMostMaxPerRuleClients) {
  Inputs in;
  in.hop(in.last60s, Hop::kUpstream).goaway_debug.add("too_many_pings");
  for (int i = 0; i < 20; ++i) {
    in.current.stats.pings_by_client["10.0.1." + std::to_string(i)].addGoaway(
        {.at_ns = in.current.now_ns - 1'000'000'000ull, .interval_ns = 1'000'000'000ull});
  }
  EXPECT_EQ(in.run(&keepaliveTooManyPings).size(), kMaxPerRule);
}

}  // namespace
}  // namespace grpcscope::findings
