// A healthy workload raises no warning or critical finding (docs/findings.md):
// 30 s of all four call types, small and 1 MiB messages, several connections,
// and (in TLS mode, GRPCSCOPE_TEST_TLS=1) TLS on both legs with clients that
// reconnect now and then and resume their sessions. Info findings may
// appear (they describe, they do not accuse); each is printed.
#include <gtest/gtest.h>

#include <future>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

using namespace std::chrono_literals;

constexpr int kSeconds = 30;

class HealthyBaselineTest : public AdminTest {
 protected:
  // Beside the echo server in the tests' build (the proxy under test may be
  // another build's, such as build-asan/grpcscope).
  std::string loadgen() const {
    std::string echo = GRPCSCOPE_ECHO_SERVER;
    return echo.substr(0, echo.rfind('/')) + "/grpcscope-loadgen";
  }

  // One grpcscope-loadgen run of kSeconds against the proxy, in the background.
  std::future<RunResult> load(std::vector<std::string> args) {
    std::vector<std::string> argv = {loadgen(), "--target", target(), "--duration", std::to_string(kSeconds)};
    if (tls()) {
      argv.insert(argv.end(), {"--tls-ca", suiteCerts(nullptr)->ca.cert, "--tls-server-name", "localhost",
                               "--tls-resume"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return std::async(std::launch::async, [argv] { return runProcess(argv, scaled(std::chrono::seconds(kSeconds + 60))); });
  }
};

TEST_F(HealthyBaselineTest, NoWarningOrCriticalFindingInThirtySeconds) {
  SKIP_IF_DIRECT("the findings belong to the proxy");
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  std::vector<std::future<RunResult>> loads;
  loads.push_back(load({"--scenario", "unary", "--connections", "4", "--concurrency", "8", "--rate", "200"}));
  loads.push_back(load({"--scenario", "server-stream", "--concurrency", "2", "--rate", "10", "--stream-messages", "50"}));
  loads.push_back(load({"--scenario", "bidi-pingpong", "--concurrency", "2", "--rate", "50"}));
  // Large messages both ways: 1 MiB, well under the 4 MiB default limit.
  loads.push_back(load({"--scenario", "unary", "--concurrency", "1", "--rate", "2", "--request-size", "1048576",
                        "--response-size", "1048576"}));
  // A client that reconnects for a call now and then (and resumes its TLS session).
  loads.push_back(load({"--scenario", "unary", "--connection-per-call", "--concurrency", "1", "--rate", "1"}));

  // Client streaming (the load generator has no such scenario): 10 messages a call, 2 calls a second.
  std::atomic<bool> stop{false};
  std::atomic<int> client_stream_ok{0};
  std::thread streamer([&] {
    auto stub = makeStub(channel());
    while (!stop) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(10s)));
      grpcscope::test::EchoResponse resp;
      auto writer = stub->ClientStream(&ctx, &resp);
      for (int i = 0; i < 10; ++i) writer->Write(request(2000, static_cast<uint32_t>(i)));
      writer->WritesDone();
      if (writer->Finish().ok()) ++client_stream_ok;
      std::this_thread::sleep_for(500ms);
    }
  });

  // Every second: no finding of warning or critical severity, ever.
  std::map<std::string, nlohmann::json> seen;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(kSeconds + 2);
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& f : getJson("/api/findings")) seen.emplace(f.value("id", "?") + " " + f["scope"].dump(), f);
    std::this_thread::sleep_for(1s);
  }
  stop = true;
  streamer.join();
  for (auto& l : loads) {
    RunResult r = l.get();
    EXPECT_EQ(r.status, 0) << r.err;
  }
  EXPECT_GT(client_stream_ok.load(), kSeconds);
  for (const auto& f : getJson("/api/findings")) seen.emplace(f.value("id", "?") + " " + f["scope"].dump(), f);

  nlohmann::json s = getJson("/api/summary");
  EXPECT_GT(s["rpcs"]["finished"].get<uint64_t>(), static_cast<uint64_t>(kSeconds * 200));
  EXPECT_EQ(s["rpcs"]["errors"], 0) << s["rpcs"].dump();
  if (tls()) {
    EXPECT_GT(s["tls"]["downstream"]["resumed"].get<uint64_t>(), 0u) << s["tls"].dump();
  }
  for (const auto& [key, f] : seen) {
    std::string severity = f.value("severity", "?");
    std::cout << "finding seen: " << severity << " " << key << " " << f.value("title", "") << "\n  evidence "
              << f["evidence"].dump() << "\n";
    // A sanitized grpcscope really is slow (about 2 ms a call): saying so is right.
    if (f.value("id", "") == "proxy.overhead" && proxyIsSanitized()) continue;
    EXPECT_EQ(severity, "info") << "a healthy workload raised " << f.dump(1);
  }
}

}  // namespace
}  // namespace grpcscope::testsupport
