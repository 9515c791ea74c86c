#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

void clients(Inputs& in, int n) {
  for (int i = 0; i < n; ++i) in.current.stats.churn["10.0.0." + std::to_string(i)].add(118);
}

TEST(TlsNoResumption, FiresOnRepeatedFullHandshakes) {
  Inputs in;
  clients(in, 1);
  HopStats& down = in.hop(in.last10s, Hop::kDownstream);
  down.tls_handshakes[TlsKey{"TLSv1.3", "h2", false}] = 12;
  for (int i = 0; i < 12; ++i) down.tls_handshake.observe(0.004);
  auto found = in.run(&tlsNoResumption);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "tls.no_resumption");
  EXPECT_EQ(f.layer, Layer::kTls);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "downstream");
  EXPECT_EQ(f.evidence["full_handshakes"], 12);
  EXPECT_EQ(f.evidence["resumed_handshakes"], 0);
  EXPECT_EQ(f.evidence["full_handshakes_by_version"]["TLSv1.3"], 12);
  for (const char* option : {"tls.NewLRUClientSessionCache", "GRPC_SSL_SESSION_CACHE_ARG", "ssl_session_cache_lru"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(TlsNoResumption, UpstreamNamesTheServer) {
  Inputs in;
  in.hop(in.last10s, Hop::kUpstream).tls_handshakes[TlsKey{"TLSv1.2", "h2", false}] = 10;
  auto found = in.run(&tlsNoResumption);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].scope.at("hop"), "upstream");
  EXPECT_NE(found[0].recommendation.find("SessionTicketsDisabled"), std::string::npos);
}

TEST(TlsNoResumption, QuietJustBelowTheCount) {
  Inputs in;
  clients(in, 1);
  in.hop(in.last10s, Hop::kDownstream).tls_handshakes[TlsKey{"TLSv1.3", "h2", false}] = 9;
  EXPECT_TRUE(in.run(&tlsNoResumption).empty());
}

TEST(TlsNoResumption, QuietWhenSessionsResume) {
  Inputs in;
  clients(in, 1);
  HopStats& down = in.hop(in.last10s, Hop::kDownstream);
  down.tls_handshakes[TlsKey{"TLSv1.3", "h2", false}] = 20;
  down.tls_handshakes[TlsKey{"TLSv1.3", "h2", true}] = 3;  // 13 % resumed
  EXPECT_TRUE(in.run(&tlsNoResumption).empty());
}

TEST(TlsNoResumption, QuietForAFleetConnectingOnceEach) {
  Inputs in;
  clients(in, 30);  // 30 clients, 30 first (full) handshakes
  in.hop(in.last10s, Hop::kDownstream).tls_handshakes[TlsKey{"TLSv1.3", "h2", false}] = 30;
  EXPECT_TRUE(in.run(&tlsNoResumption).empty());
}

}  // namespace
}  // namespace grpcscope::findings
