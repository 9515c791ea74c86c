#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

void liveCert(Inputs& in, Hop hop, const std::string& subject, int64_t days_left) {
  ConnectionView c;
  LegView& leg = c.legs[static_cast<int>(hop)];
  leg.opened = true;
  leg.tls.present = true;
  leg.tls.peer_subject = subject;
  leg.tls.peer_issuer = "CN=test-ca";
  leg.tls.peer_days_left = days_left;
  in.current.connections.push_back(c);
}

TEST(TlsCertificateExpiring, FiresForEitherLegSoonestFirst) {
  Inputs in;
  liveCert(in, Hop::kUpstream, "CN=localhost", 10);
  liveCert(in, Hop::kUpstream, "CN=localhost", 10);
  liveCert(in, Hop::kDownstream, "CN=test-client", 2);
  auto found = in.run(&tlsCertificateExpiring);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].id, "tls.certificate_expiring");
  EXPECT_EQ(found[0].layer, Layer::kTls);
  EXPECT_EQ(found[0].severity, Severity::kCritical);
  EXPECT_EQ(found[0].scope.at("hop"), "downstream");
  EXPECT_EQ(found[0].evidence["days_left"], 2);
  const Finding& up = found[1];
  EXPECT_EQ(up.severity, Severity::kWarning);
  EXPECT_EQ(up.scope.at("hop"), "upstream");
  EXPECT_EQ(up.scope.at("subject"), "CN=localhost");
  EXPECT_EQ(up.evidence["live_connections"], 2);
  EXPECT_EQ(up.evidence["peer_issuer"], "CN=test-ca");
  EXPECT_NE(up.recommendation.find("GetCertificate"), std::string::npos);
  EXPECT_NE(up.recommendation.find("FileWatcherCertificateProvider"), std::string::npos);
}

TEST(TlsCertificateExpiring, QuietJustBelowTheThreshold) {
  Inputs in;
  liveCert(in, Hop::kUpstream, "CN=localhost", 15);
  EXPECT_TRUE(in.run(&tlsCertificateExpiring).empty());
}

TEST(TlsCertificateExpiring, NoCertificateIsNotExpiring) {
  Inputs in;
  liveCert(in, Hop::kDownstream, "", 0);  // a client without a certificate
  EXPECT_TRUE(in.run(&tlsCertificateExpiring).empty());
}

}  // namespace
}  // namespace grpcscope::findings
