#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

TEST(ConnectionUpstreamUnavailable, FiresWithTheCausesTheClientsSaw) {
  Inputs in;
  WorkerStats& w = in.last10s.stats;
  w.upstream_failures = 12;
  w.upstream_failure_causes.add("upstream 127.0.0.1:1: connect failed: connection refused", 4);
  w.upstream_failure_causes.add(
      "upstream 127.0.0.1:1 unavailable: upstream 127.0.0.1:1: connect failed: connection refused (next connection "
      "attempt in 812 ms)",
      5);
  w.upstream_failure_causes.add(
      "upstream 127.0.0.1:1 unavailable: upstream 127.0.0.1:1: connect failed: connection refused (next connection "
      "attempt in 97 ms)",
      3);
  w.calls_finished = 8;
  w.by_status[14] = 8;
  auto found = in.run(&connectionUpstreamUnavailable);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "connection.upstream_unavailable");
  EXPECT_EQ(f.layer, Layer::kConnection);
  EXPECT_EQ(f.severity, Severity::kCritical);
  EXPECT_EQ(f.scope.at("hop"), "upstream");
  EXPECT_EQ(f.evidence["upstream_failures"], 12);
  EXPECT_EQ(f.evidence["cause_kinds"]["refused"], 12);
  // The backoff suffix folds into one cause.
  EXPECT_EQ(f.evidence["causes"]["upstream 127.0.0.1:1 unavailable: upstream 127.0.0.1:1: connect failed: connection refused"], 8);
  EXPECT_EQ(f.evidence["calls_unavailable_share"], 1.0);
  EXPECT_NE(f.recommendation.find("--upstream"), std::string::npos);
  EXPECT_NE(f.recommendation.find("grpc.WaitForReady"), std::string::npos);
}

TEST(ConnectionUpstreamUnavailable, NamesTheTlsFix) {
  Inputs in;
  WorkerStats& w = in.last10s.stats;
  w.upstream_failures = 6;
  w.upstream_failure_causes.add(
      "upstream TLS: certificate verify failed: unable to get local issuer certificate (127.0.0.1:5)", 6);
  w.calls_finished = 100;
  w.by_status[14] = 6;
  auto found = in.run(&connectionUpstreamUnavailable);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Severity::kWarning);  // most calls still succeed
  EXPECT_EQ(found[0].evidence["cause_kinds"]["tls_certificate_verify_failed"], 6);
  EXPECT_NE(found[0].recommendation.find("--upstream-ca"), std::string::npos);
}

TEST(ConnectionUpstreamUnavailable, QuietJustBelowTheCount) {
  Inputs in;
  in.last10s.stats.upstream_failures = 4;
  in.last10s.stats.upstream_failure_causes.add("upstream 127.0.0.1:1: connect failed: connection refused", 4);
  EXPECT_TRUE(in.run(&connectionUpstreamUnavailable).empty());
}

}  // namespace
}  // namespace grpcscope::findings
