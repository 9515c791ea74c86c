#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

Inputs lossy(uint64_t retransmits, uint64_t segments) {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.tcp_retransmits = retransmits;
  up.tcp_segs_out = segments;
  up.tcp_samples = 60;
  for (int i = 0; i < 10; ++i) up.tcp_rtt.observe(0.02);
  return in;
}

TEST(TransportRetransmits, FiresAtOnePercent) {
  auto found = lossy(300, 10000).run(&transportRetransmits);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "transport.retransmits");
  EXPECT_EQ(f.layer, Layer::kTransport);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.evidence["retransmitted_segments"], 300);
  EXPECT_EQ(f.evidence["segments_sent"], 10000);
  EXPECT_NEAR(f.evidence["retransmit_share"].get<double>(), 0.03, 1e-6);
  EXPECT_NEAR(f.evidence["retransmits_per_s"].get<double>(), 5, 1e-6);
  EXPECT_NEAR(f.evidence["tcp_rtt_p50_s"].get<double>(), 0.02, 0.001);
  EXPECT_NE(f.recommendation.find("ss -ti"), std::string::npos);
  EXPECT_NE(f.recommendation.find("tcp_congestion_control"), std::string::npos);
}

TEST(TransportRetransmits, CriticalAtFivePercent) {
  auto found = lossy(500, 10000).run(&transportRetransmits);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Severity::kCritical);
  auto below = lossy(499, 10000).run(&transportRetransmits);
  ASSERT_EQ(below.size(), 1u);
  EXPECT_EQ(below[0].severity, Severity::kWarning);
}

TEST(TransportRetransmits, QuietBelowTheThresholds) {
  EXPECT_TRUE(lossy(99, 10000).run(&transportRetransmits).empty());  // 0.99 %
  EXPECT_EQ(lossy(100, 10000).run(&transportRetransmits).size(), 1u);
  EXPECT_TRUE(lossy(19, 1000).run(&transportRetransmits).empty());   // 1.9 % but 19 segments
  EXPECT_TRUE(lossy(20, 999).run(&transportRetransmits).empty());    // too little traffic
  EXPECT_TRUE(lossy(20, 0).run(&transportRetransmits).empty());      // kernel without segs_out
  Inputs none;
  EXPECT_TRUE(none.run(&transportRetransmits).empty());
}

}  // namespace
}  // namespace grpcscope::findings
