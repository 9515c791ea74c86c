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

}  // namespace
}  // namespace grpcscope::findings
