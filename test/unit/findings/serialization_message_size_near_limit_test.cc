#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

constexpr double kMiB = 1 << 20;

TEST(SerializationMessageSizeNearLimit, FiresOnMessagesNearFourMiB) {
  Inputs in;
  MethodStats& m = in.last60s.stats.methods["pkg.Svc/Upload"];
  for (int i = 0; i < 20; ++i) m.message_size[kRequest].observe(100'000);
  for (int i = 0; i < 3; ++i) m.message_size[kRequest].observe(3.5 * kMiB);
  auto found = in.run(&serializationMessageSizeNearLimit);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "serialization.message_size_near_limit");
  EXPECT_EQ(f.layer, Layer::kSerialization);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("method"), "pkg.Svc/Upload");
  EXPECT_EQ(f.scope.at("direction"), "request");
  EXPECT_EQ(f.evidence["limit_bytes"], 4 << 20);
  EXPECT_NEAR(f.evidence["message_max_bytes"].get<double>(), 3.5 * kMiB, 0.02 * 3.5 * kMiB);
  for (const char* option : {"grpc.MaxRecvMsgSize", "grpc.max_receive_message_length", "maxInboundMessageSize",
                             "SetMaxReceiveMessageSize"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(SerializationMessageSizeNearLimit, QuietBelowThreeNearMessagesOrBelowTheShare) {
  Inputs in;
  MethodStats& m = in.last60s.stats.methods["pkg.Svc/Upload"];
  for (int i = 0; i < 20; ++i) m.message_size[kRequest].observe(100'000);
  for (int i = 0; i < 2; ++i) m.message_size[kRequest].observe(3.5 * kMiB);  // two: one more is needed
  for (int i = 0; i < 5; ++i) m.message_size[kResponse].observe(0.73 * 4 * kMiB);  // below 75 %
  EXPECT_TRUE(in.run(&serializationMessageSizeNearLimit).empty());
}

TEST(SerializationMessageSizeNearLimit, ResourceExhaustedIsCriticalWithTheFailedSize) {
  Inputs in;
  MethodStats& m = in.last60s.stats.methods["pkg.Svc/Upload"];
  m.exhausted_request_size.observe(5 * kMiB);
  m.receive_limit_bytes = 4 << 20;
  auto found = in.run(&serializationMessageSizeNearLimit);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Severity::kCritical);
  EXPECT_EQ(found[0].evidence["resource_exhausted_calls"], 1);
  EXPECT_EQ(found[0].evidence["limit_from_status"], true);
  EXPECT_NEAR(found[0].evidence["failed_message_max_bytes"].get<double>(), 5 * kMiB, 0.02 * 5 * kMiB);
}

TEST(SerializationMessageSizeNearLimit, AServersRaisedLimitMovesTheBar) {
  Inputs in;
  MethodStats& m = in.last60s.stats.methods["pkg.Svc/Upload"];
  m.receive_limit_bytes = 16 << 20;  // a status named 16 MiB
  for (int i = 0; i < 5; ++i) m.message_size[kRequest].observe(3.5 * kMiB);
  EXPECT_TRUE(in.run(&serializationMessageSizeNearLimit).empty());
}

}  // namespace
}  // namespace grpcscope::findings
