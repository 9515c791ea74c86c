#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// A client at 127.0.0.9 opened `n` connections in the last 10 s (process second 120).
void churnFrom(Inputs& in, const std::string& ip, uint32_t n) {
  ClientChurn& c = in.current.stats.churn[ip];
  for (uint32_t i = 0; i < n; ++i) c.add(111 + i % 10);
}

// `closed` downstream connections closed in the window with `streams` each.
void closedWith(Inputs& in, uint64_t closed, double streams) {
  HopStats& down = in.hop(in.last10s, Hop::kDownstream);
  down.connections_opened = closed;
  down.connections_closed = closed;
  for (uint64_t i = 0; i < closed; ++i) {
    down.streams_per_connection.observe(streams);
    down.connection_lifetime.observe(0.01);
  }
  in.last10s.stats.calls_started = static_cast<uint64_t>(static_cast<double>(closed) * streams);
}

TEST(ConnectionChurn, FiresOnAConnectionPerCall) {
  Inputs in;
  churnFrom(in, "127.0.0.9", 80);
  churnFrom(in, "10.0.0.1", 3);  // a well-behaved client beside it
  closedWith(in, 80, 1);
  auto found = in.run(&connectionChurn);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "connection.churn");
  EXPECT_EQ(f.layer, Layer::kConnection);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("client"), "127.0.0.9");
  EXPECT_EQ(f.evidence["new_connections_last_10s"], 80);
  EXPECT_DOUBLE_EQ(f.evidence["new_connections_per_s"].get<double>(), 8.0);
  EXPECT_NEAR(f.evidence["streams_per_closed_connection_p50"].get<double>(), 1.0, 0.02);
  EXPECT_NEAR(f.evidence["calls_per_new_connection"].get<double>(), 1.0, 0.02);
  for (const char* option : {"grpc.NewClient", "grpc::CreateChannel", "ManagedChannel"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(ConnectionChurn, FiresOnAFullTlsHandshakePerCall) {
  Inputs in;
  churnFrom(in, "127.0.0.9", 60);
  HopStats& down = in.hop(in.last10s, Hop::kDownstream);
  down.tls_handshakes[TlsKey{"TLSv1.3", "h2", false}] = 60;
  down.connections_opened = 60;
  in.last10s.stats.calls_started = 90;  // connections still open: no closed ones to judge by
  auto found = in.run(&connectionChurn);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].evidence["full_tls_handshakes"], 60);
  EXPECT_NEAR(found[0].evidence["calls_per_full_tls_handshake"].get<double>(), 1.5, 0.01);
}

TEST(ConnectionChurn, QuietJustBelowTheRate) {
  Inputs in;
  churnFrom(in, "127.0.0.9", 49);
  closedWith(in, 49, 1);
  EXPECT_TRUE(in.run(&connectionChurn).empty());
}

TEST(ConnectionChurn, QuietWhenConnectionsCarryManyCalls) {
  Inputs in;
  churnFrom(in, "127.0.0.9", 80);
  closedWith(in, 80, 3);  // just above "few" (2)
  EXPECT_TRUE(in.run(&connectionChurn).empty());
}

TEST(ConnectionChurn, QuietWhenAFleetConnectsOnceAndStays) {
  Inputs in;
  churnFrom(in, "127.0.0.9", 200);  // 200 clients behind one address start at once
  closedWith(in, 19, 1);             // fewer closed than kMinClosed
  in.last10s.stats.calls_started = 5000;
  EXPECT_TRUE(in.run(&connectionChurn).empty());
}

TEST(ConnectionChurn, OldConnectionsDoNotCount) {
  Inputs in;
  ClientChurn& c = in.current.stats.churn["127.0.0.9"];
  for (int i = 0; i < 100; ++i) c.add(100);  // 20 s ago
  closedWith(in, 80, 1);
  EXPECT_TRUE(in.run(&connectionChurn).empty());
}

TEST(ConnectionChurn, AtMostKMaxPerRuleClientsWorstFirst) {
  Inputs in;
  for (int i = 0; i < 12; ++i) churnFrom(in, "10.0.0." + std::to_string(i), 50 + i);
  closedWith(in, 100, 1);
  auto found = in.run(&connectionChurn);
  ASSERT_EQ(found.size(), kMaxPerRule);
  EXPECT_EQ(found[0].scope.at("client"), "10.0.0.11");
}

}  // namespace
}  // namespace grpcscope::findings
