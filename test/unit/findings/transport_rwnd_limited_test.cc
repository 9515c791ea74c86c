#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

Inputs rwnd(uint64_t busy_us, uint64_t limited_us) {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.tcp_samples = 10;
  up.tcp_busy_us = busy_us;
  up.tcp_rwnd_limited_us = limited_us;
  up.tcp_sndbuf_limited_us = busy_us / 10;
  for (int i = 0; i < 10; ++i) up.tcp_rtt.observe(0.0001);
  return in;
}

TEST(TransportRwndLimited, FiresWhenTheReceiveWindowHoldsTheSender) {
  auto found = rwnd(5'000'000, 4'000'000).run(&transportRwndLimited);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "transport.rwnd_limited");
  EXPECT_EQ(f.layer, Layer::kTransport);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_NEAR(f.evidence["rwnd_limited_share"].get<double>(), 0.8, 1e-6);
  EXPECT_NEAR(f.evidence["busy_s"].get<double>(), 5, 1e-6);
  EXPECT_NEAR(f.evidence["sndbuf_limited_share"].get<double>(), 0.1, 1e-6);
  EXPECT_EQ(f.evidence["http2_blocked_share"], 0);
  for (const char* option : {"net.ipv4.tcp_rmem", "net.core.rmem_max", "SO_RCVBUF"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(TransportRwndLimited, QuietBelowTheThresholds) {
  EXPECT_TRUE(rwnd(4'000'000, 999'999).run(&transportRwndLimited).empty());  // just under 25 %
  EXPECT_EQ(rwnd(4'000'000, 1'000'000).run(&transportRwndLimited).size(), 1u);
  EXPECT_TRUE(rwnd(999'999, 999'999).run(&transportRwndLimited).empty());    // under a busy second
  Inputs few = rwnd(5'000'000, 4'000'000);
  few.hop(few.last60s, Hop::kUpstream).tcp_samples = 2;
  EXPECT_TRUE(few.run(&transportRwndLimited).empty());
  Inputs none;
  EXPECT_TRUE(none.run(&transportRwndLimited).empty());
}

}  // namespace
}  // namespace grpcscope::findings
