#include <gtest/gtest.h>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// `calls` unary calls of `call_s`, of which `upstream_s` upstream.
void calls(Inputs& in, const char* method, int calls, double call_s, double upstream_s) {
  MethodStats& m = in.last60s.stats.methods[method];
  m.finished = m.started = calls;
  m.messages = {static_cast<uint64_t>(calls), static_cast<uint64_t>(calls)};
  for (int i = 0; i < calls; ++i) {
    m.duration.observe(call_s);
    m.upstream_time.observe(upstream_s);
    in.last60s.stats.proxy_time.observe(0.0001);
  }
}

TEST(ApplicationServerTimeDominates, FiresWhenTheServerTakesTheTime) {
  Inputs in;
  calls(in, "pkg.Svc/Slow", 30, 0.200, 0.198);
  in.hop(in.last60s, Hop::kUpstream).tcp_rtt.observe(0.002);
  auto found = in.run(&applicationServerTimeDominates);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "application.server_time_dominates");
  EXPECT_EQ(f.severity, Severity::kInfo);
  EXPECT_EQ(f.layer, Layer::kApplication);
  EXPECT_EQ(f.scope.at("method"), "pkg.Svc/Slow");
  EXPECT_NEAR(f.evidence["server_mean_s"].get<double>(), 0.196, 0.003);
  EXPECT_NEAR(f.evidence["network_rtt_s"].get<double>(), 0.002, 0.0001);
  EXPECT_EQ(f.evidence["network_rtt_source"], "tcp_info");
  EXPECT_GT(f.evidence["server_share"].get<double>(), 0.95);
  EXPECT_TRUE(f.evidence.contains("proxy_mean_s"));
  EXPECT_FALSE(f.recommendation.empty());
}

TEST(ApplicationServerTimeDominates, QuietOnFastCallsNetworkBoundCallsFewCallsOrStreams) {
  {
    Inputs in;  // fast: 9 ms
    calls(in, "pkg.Svc/Fast", 100, 0.009, 0.0089);
    EXPECT_TRUE(in.run(&applicationServerTimeDominates).empty());
  }
  {
    Inputs in;  // the network's: a 50 ms RTT of 100 ms calls
    calls(in, "pkg.Svc/Far", 100, 0.100, 0.099);
    in.hop(in.last60s, Hop::kUpstream).ping_rtt.observe(0.050);
    EXPECT_TRUE(in.run(&applicationServerTimeDominates).empty());
  }
  {
    Inputs in;
    calls(in, "pkg.Svc/Slow", 19, 0.200, 0.198);
    EXPECT_TRUE(in.run(&applicationServerTimeDominates).empty());
  }
  {
    Inputs in;  // a server stream: several responses per call
    calls(in, "pkg.Svc/Watch", 30, 5.0, 5.0);
    in.last60s.stats.methods["pkg.Svc/Watch"].messages[kResponse] = 300;
    EXPECT_TRUE(in.run(&applicationServerTimeDominates).empty());
  }
}

}  // namespace
}  // namespace grpcscope::findings
