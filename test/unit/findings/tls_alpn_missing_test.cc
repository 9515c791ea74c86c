#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

TEST(TlsAlpnMissing, FiresForClientsWithoutH2) {
  Inputs in;
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.tls_handshakes[TlsKey{"TLSv1.3", "none", false}] = 2;
  down.tls_handshakes[TlsKey{"TLSv1.3", "h2", false}] = 10;
  ConnectionView c;
  LegView& leg = c.legs[static_cast<int>(Hop::kDownstream)];
  leg.opened = true;
  leg.peer = "127.0.0.5:4242";
  leg.tls.present = true;
  in.current.connections.push_back(c);
  auto found = in.run(&tlsAlpnMissing);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "tls.alpn_missing");
  EXPECT_EQ(f.layer, Layer::kTls);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "downstream");
  EXPECT_EQ(f.evidence["handshakes_without_h2"], 2);
  EXPECT_EQ(f.evidence["negotiated_alpn"]["none"], 2);
  EXPECT_EQ(f.evidence["live_clients_without_h2"][0]["address"], "127.0.0.5");
  EXPECT_EQ(f.evidence["live_clients_without_h2"][0]["offered_alpn"], "none");
  for (const char* option : {"NextProtos", "GRPC_ENFORCE_ALPN_ENABLED", "1.67"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(TlsAlpnMissing, UpstreamServerWithoutH2) {
  Inputs in;
  in.hop(in.last60s, Hop::kUpstream).tls_handshakes[TlsKey{"TLSv1.2", "http/1.1", false}] = 3;
  auto found = in.run(&tlsAlpnMissing);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].scope.at("hop"), "upstream");
  EXPECT_EQ(found[0].evidence["negotiated_alpn"]["http/1.1"], 3);
}

TEST(TlsAlpnMissing, QuietForOneProbe) {
  Inputs in;
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.tls_handshakes[TlsKey{"TLSv1.3", "none", false}] = 1;
  down.tls_handshakes[TlsKey{"TLSv1.3", "h2", true}] = 100;
  EXPECT_TRUE(in.run(&tlsAlpnMissing).empty());
}

}  // namespace
}  // namespace grpcscope::findings
