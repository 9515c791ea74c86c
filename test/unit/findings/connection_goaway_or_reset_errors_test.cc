#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

TEST(ConnectionGoawayOrResetErrors, FiresByHopAndCode) {
  Inputs in;
  in.last60s.stats.streams_opened = 40;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.rst[kReceived][0x2] = 12;  // INTERNAL_ERROR
  up.rst[kReceived][0x7] = 6;   // REFUSED_STREAM
  up.rst[kReceived][0x8] = 30;  // CANCEL: not an error
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.rst[kSent][0x2] = 12;    // the relayed copies: not counted again
  auto found = in.run(&connectionGoawayOrResetErrors);
  ASSERT_EQ(found.size(), 2u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "connection.goaway_or_reset_errors");
  EXPECT_EQ(f.layer, Layer::kConnection);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.scope.at("error_code"), "INTERNAL_ERROR");
  EXPECT_EQ(f.evidence["rst_stream_received"], 12);
  EXPECT_EQ(f.evidence["grpc_status_seen_by_client"], "INTERNAL");
  EXPECT_NE(f.evidence["meaning"].get<std::string>().find("INTERNAL_ERROR"), std::string::npos);
  EXPECT_EQ(found[1].scope.at("error_code"), "REFUSED_STREAM");
  EXPECT_EQ(found[1].evidence["grpc_status_seen_by_client"], "UNAVAILABLE");
  EXPECT_NE(found[1].recommendation.find("grpc.MaxConcurrentStreams"), std::string::npos);
}

TEST(ConnectionGoawayOrResetErrors, GoawaysWithAnErrorAreCritical) {
  Inputs in;
  HopStats& down = in.hop(in.last60s, Hop::kDownstream);
  down.goaway[kReceived][0x1] = 2;  // PROTOCOL_ERROR from clients
  auto found = in.run(&connectionGoawayOrResetErrors);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Severity::kCritical);
  EXPECT_EQ(found[0].scope.at("hop"), "downstream");
  EXPECT_EQ(found[0].evidence["sent_by"], "the client");
}

TEST(ConnectionGoawayOrResetErrors, QuietJustBelowThresholds) {
  Inputs in;
  in.last60s.stats.streams_opened = 1000;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.rst[kReceived][0x2] = 9;    // 0.9 % of the streams
  up.rst[kReceived][0x7] = 4;    // fewer than 5
  up.goaway[kReceived][0x2] = 1;  // one GOAWAY
  up.goaway[kReceived][0x0] = 50; // NO_ERROR is no error
  EXPECT_TRUE(in.run(&connectionGoawayOrResetErrors).empty());
}

TEST(ConnectionGoawayOrResetErrors, TooManyPingsIsAnotherFinding) {
  Inputs in;
  HopStats& up = in.hop(in.last60s, Hop::kUpstream);
  up.goaway[kReceived][0xb] = 3;
  for (int i = 0; i < 3; ++i) up.goaway_debug.add("too_many_pings");
  EXPECT_TRUE(in.run(&connectionGoawayOrResetErrors).empty());
}

}  // namespace
}  // namespace grpcscope::findings
