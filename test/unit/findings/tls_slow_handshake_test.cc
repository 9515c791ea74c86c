#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

void handshakes(Inputs& in, Hop hop, int n, double seconds) {
  HopStats& h = in.hop(in.last60s, hop);
  for (int i = 0; i < n; ++i) h.tls_handshake.observe(seconds);
}

// A live connection whose `hop` leg took `total_s`, `verify_s` of it verifying, over an RTT of `rtt_s`.
void liveTls(Inputs& in, Hop hop, double total_s, double verify_s, double rtt_s) {
  ConnectionView c;
  LegView& leg = c.legs[static_cast<int>(hop)];
  leg.opened = true;
  leg.tls.present = true;
  leg.tls.version = "TLSv1.3";
  leg.tls.handshake_ns = static_cast<uint64_t>(total_s * 1e9);
  leg.tls.verify_ns = static_cast<uint64_t>(verify_s * 1e9);
  leg.tcp.valid = true;
  leg.tcp.rtt_us = static_cast<uint32_t>(rtt_s * 1e6);
  in.current.connections.push_back(c);
}

TEST(TlsSlowHandshake, FiresNamingVerificationAsTheDominantPhase) {
  Inputs in;
  handshakes(in, Hop::kUpstream, 6, 0.3);
  liveTls(in, Hop::kUpstream, 0.3, 0.25, 0.001);
  auto found = in.run(&tlsSlowHandshake);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "tls.slow_handshake");
  EXPECT_EQ(f.layer, Layer::kTls);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.evidence["dominant_phase"], "certificate_verification");
  EXPECT_NEAR(f.evidence["handshake_p50_s"].get<double>(), 0.3, 0.01);
  EXPECT_NEAR(f.evidence["phase_certificate_verification_s"].get<double>(), 0.25, 0.001);
  EXPECT_NE(f.recommendation.find("chain"), std::string::npos);
}

TEST(TlsSlowHandshake, KeyExchangeAndPeer) {
  Inputs in;
  handshakes(in, Hop::kDownstream, 5, 0.2);
  liveTls(in, Hop::kDownstream, 0.2, 0.0, 0.002);
  auto found = in.run(&tlsSlowHandshake);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].evidence["dominant_phase"], "key_exchange_and_peer_processing");
  EXPECT_NE(found[0].recommendation.find("ECDSA P-256"), std::string::npos);
}

TEST(TlsSlowHandshake, RoundTripsAreInfo) {
  Inputs in;
  handshakes(in, Hop::kUpstream, 5, 0.16);
  liveTls(in, Hop::kUpstream, 0.16, 0.002, 0.15);  // a 150 ms RTT
  auto found = in.run(&tlsSlowHandshake);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].evidence["dominant_phase"], "network_round_trips");
  EXPECT_EQ(found[0].severity, Severity::kInfo);
  EXPECT_NE(found[0].recommendation.find("TLS 1.3"), std::string::npos);
}

TEST(TlsSlowHandshake, QuietJustBelowThresholds) {
  Inputs in;
  handshakes(in, Hop::kUpstream, 20, 0.095);   // fast enough
  handshakes(in, Hop::kDownstream, 4, 0.5);    // too few
  EXPECT_TRUE(in.run(&tlsSlowHandshake).empty());
}

}  // namespace
}  // namespace grpcscope::findings
