#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// `n` connections the server noticed at about `age_s`, clients reconnecting with full TLS handshakes.
void maxAge(Inputs& in, uint64_t n, double age_s, uint64_t cut = 0) {
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  up.goaway_notices = n;
  up.goaway_two_phase = n;
  for (uint64_t i = 0; i < n; ++i) {
    up.goaway_notice_age.observe(age_s * (0.95 + 0.1 * static_cast<double>(i % 3) / 2));
    up.goaway_drain.observe(cut ? 1.0 : 0.01);
  }
  up.calls_cut_after_notice = cut;
  down.connections_opened = n + 1;
  up.connections_opened = n + 1;
  down.tls_handshakes[TlsKey{"TLSv1.3", "h2", false}] = n + 1;
}

TEST(ConnectionMaxAgeChurn, FiresOnShortRegularLifetimes) {
  Inputs in;
  maxAge(in, 6, 10, 2);
  auto found = in.run(&connectionMaxAgeChurn);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "connection.max_age_churn");
  EXPECT_EQ(f.layer, Layer::kConnection);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.evidence["goaway_notices"], 6);
  EXPECT_NEAR(f.evidence["connection_age_p50_s"].get<double>(), 10, 0.6);
  EXPECT_EQ(f.evidence["full_tls_handshakes_downstream"], 7);
  EXPECT_EQ(f.evidence["calls_cut_at_grace"], 2);
  EXPECT_NEAR(f.evidence["drain_max_s"].get<double>(), 1.0, 0.02);
  for (const char* option : {"MaxConnectionAge", "MaxConnectionAgeGrace", "grpc.max_connection_age_ms",
                             "grpc.max_connection_age_grace_ms", "maxConnectionAge()", "ClientSessionCache"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(ConnectionMaxAgeChurn, InfoWhenLongerAndNothingCut) {
  Inputs in;
  maxAge(in, 3, 60);
  auto found = in.run(&connectionMaxAgeChurn);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Severity::kInfo);
}

TEST(ConnectionMaxAgeChurn, QuietBelowItsThresholds) {
  Inputs few;
  maxAge(few, 2, 10);  // fewer than 3 notices: a restart or an idle timeout
  EXPECT_TRUE(few.run(&connectionMaxAgeChurn).empty());
  Inputs old;
  maxAge(old, 6, 125);  // long enough lifetimes
  EXPECT_TRUE(old.run(&connectionMaxAgeChurn).empty());
  Inputs jitter;  // gRPC's +-10% jitter and a bit more: still one configured age
  maxAge(jitter, 0, 1);
  HopStats& ju = jitter.hop(jitter.last60s, Hop::kUpstream);
  ju.goaway_notices = 6;
  for (double a : {8.0, 8.5, 9.5, 10.5, 11.5, 11.8}) ju.goaway_notice_age.observe(a);
  EXPECT_EQ(jitter.run(&connectionMaxAgeChurn).size(), 1u);
  Inputs spread;  // ages from 1 to 60 s: connections opened at any time, one shutdown
  maxAge(spread, 0, 1);
  HopStats& up = spread.hop(spread.last60s, Hop::kUpstream);
  up.goaway_notices = 6;
  for (double a : {1.0, 5.0, 12.0, 30.0, 45.0, 60.0}) up.goaway_notice_age.observe(a);
  EXPECT_TRUE(spread.run(&connectionMaxAgeChurn).empty());
}

}  // namespace
}  // namespace grpcscope::findings
