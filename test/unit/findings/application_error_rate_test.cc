#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

MethodStats& method(Inputs& in, const char* name, uint64_t ok, int code, uint64_t errors) {
  MethodStats& m = in.last60s.stats.methods[name];
  m.finished = ok + errors;
  m.by_status[0] = ok;
  m.by_status[static_cast<size_t>(code)] = errors;
  for (uint64_t i = 0; i < ok; ++i) m.duration_by_status.try_emplace(0, HistogramUnit::kSeconds).first->second.observe(0.05);
  return m;
}

TEST(ApplicationErrorRate, FiresByMethodAndStatusWithItsMeaning) {
  Inputs in;
  method(in, "pkg.Svc/Get", 100, 14, 40);
  auto found = in.run(&applicationErrorRate);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "application.error_rate");
  EXPECT_EQ(f.layer, Layer::kApplication);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_EQ(f.scope.at("method"), "pkg.Svc/Get");
  EXPECT_EQ(f.scope.at("status"), "UNAVAILABLE");
  EXPECT_EQ(f.evidence["errors"], 40);
  EXPECT_NEAR(f.evidence["error_share"].get<double>(), 40.0 / 140, 0.01);
  EXPECT_NE(f.title.find("UNAVAILABLE"), std::string::npos);
  EXPECT_NE(f.title.find("retry with backoff"), std::string::npos);
  EXPECT_FALSE(f.recommendation.empty());
}

TEST(ApplicationErrorRate, HalfFailingIsCriticalAndAnswersAboutTheRequestAreInfo) {
  Inputs in;
  method(in, "pkg.Svc/Down", 10, 13, 10);
  method(in, "pkg.Svc/Find", 100, 5, 20);
  auto found = in.run(&applicationErrorRate);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].scope.at("status"), "INTERNAL");
  EXPECT_EQ(found[0].severity, Severity::kCritical);
  EXPECT_EQ(found[1].scope.at("status"), "NOT_FOUND");
  EXPECT_EQ(found[1].severity, Severity::kInfo);
}

TEST(ApplicationErrorRate, DeadlineExceededShowsTheClientsDeadlines) {
  Inputs in;
  MethodStats& m = method(in, "pkg.Svc/Slow", 50, 4, 50);
  for (int i = 0; i < 100; ++i) m.deadline.observe(0.1);
  for (int i = 0; i < 50; ++i) m.deadline_exceeded_deadline.observe(0.1);
  auto found = in.run(&applicationErrorRate);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.scope.at("status"), "DEADLINE_EXCEEDED");
  EXPECT_NEAR(f.evidence["failed_calls_deadline_p50_s"].get<double>(), 0.1, 0.002);
  EXPECT_NEAR(f.evidence["calls_with_deadline_share"].get<double>(), 1.0, 0.001);
  EXPECT_NEAR(f.evidence["ok_call_p99_s"].get<double>(), 0.05, 0.001);
  for (const char* option : {"context.WithTimeout", "set_deadline", "timeout=", "withDeadlineAfter"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(ApplicationErrorRate, QuietBelowTheCountOrTheShare) {
  Inputs in;
  method(in, "pkg.Svc/Few", 10, 14, 9);       // 9 errors
  method(in, "pkg.Svc/Rare", 1000, 14, 52);   // 4.9 %
  EXPECT_TRUE(in.run(&applicationErrorRate).empty());
}

}  // namespace
}  // namespace grpcscope::findings
