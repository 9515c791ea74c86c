// The application and self findings (docs/findings.md, "Application",
// "Self") raised by real gRPC C++ peers through the grpcscope binary: a
// handler with a server-side delay, calls failing with a status, calls
// running past the deadlines their clients set, and grpcscope itself stopped
// (SIGSTOP, as a CPU-throttled sidecar is) so that its loop runs late. A fast
// healthy service raises none of them.
#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

constexpr const char* kUnary = "grpcscope.test.Echo/Unary";

class ApplicationFindingsTest : public AdminTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("reads the proxy's findings");
    ASSERT_NO_FATAL_FAILURE(startServer());
  }

  void start(const std::vector<std::string>& args = {}) {
    ASSERT_NO_FATAL_FAILURE(startProxy(args));
    stub_ = makeStub(channel());
  }

  nlohmann::json findings() { return nlohmann::json::parse(get("/api/findings").body, nullptr, false); }

  // The first active finding with this id whose scope has these entries.
  nlohmann::json waitFinding(const std::string& id, const std::map<std::string, std::string>& scope,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(8000)) {
    auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
    nlohmann::json last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = findings();
      if (last.is_array()) {
        for (const auto& f : last) {
          if (f["id"] != id || !f["active"].get<bool>()) continue;
          bool match = true;
          for (const auto& [k, v] : scope) match = match && f["scope"].value(k, "") == v;
          if (match) return f;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "no finding " << id << " within " << timeout.count() << " ms; /api/findings: " << last.dump();
    return nlohmann::json();
  }

  // `n` unary calls at once (each on its own thread), each built by `make`;
  // returns their statuses.
  std::vector<grpc::Status> concurrently(int n, const std::function<grpcscope::test::EchoRequest(int)>& make,
                                         std::chrono::milliseconds timeout = std::chrono::milliseconds(20000)) {
    std::vector<grpc::Status> out(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        grpcscope::test::EchoResponse resp;
        out[static_cast<size_t>(i)] = unaryCall(*stub_, make(i), &resp, timeout);
      });
    }
    for (auto& t : threads) t.join();
    return out;
  }

  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

TEST_F(ApplicationFindingsTest, ServerSideDelayDominatesTheCallTime) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int round = 0; round < 3; ++round) {
    auto st = concurrently(10, [](int) {
      grpcscope::test::EchoRequest r;
      r.set_payload("x");
      r.set_delay_ms(60);  // the handler waits 60 ms before answering
      return r;
    });
    for (const auto& s : st) ASSERT_TRUE(s.ok()) << statusString(s);
  }
  nlohmann::json f = waitFinding("application.server_time_dominates", {{"method", kUnary}});
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["layer"], "application");
  EXPECT_EQ(f["severity"], "info");
  const nlohmann::json& e = f["evidence"];
  EXPECT_GE(e["calls"].get<uint64_t>(), 30u);
  EXPECT_GE(e["server_mean_s"].get<double>(), 0.055);
  EXPECT_GE(e["server_share"].get<double>(), 0.8);
  EXPECT_LT(e["network_rtt_s"].get<double>(), 0.01);  // loopback
  EXPECT_LT(e["proxy_mean_s"].get<double>(), 0.01);
}

TEST_F(ApplicationFindingsTest, CallsFailingWithAStatus) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto st = concurrently(40, [](int i) {
    grpcscope::test::EchoRequest r;
    r.set_payload("x");
    if (i % 2 == 0) {
      r.set_status_code(static_cast<int32_t>(grpc::StatusCode::INTERNAL));
      r.set_status_message("handler failed on purpose");
    }
    return r;
  });
  for (size_t i = 0; i < st.size(); ++i) EXPECT_EQ(st[i].ok(), i % 2 == 1) << statusString(st[i]);
  nlohmann::json f = waitFinding("application.error_rate", {{"method", kUnary}, {"status", "INTERNAL"}});
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["layer"], "application");
  EXPECT_EQ(f["severity"], "critical");  // half the calls
  EXPECT_EQ(f["evidence"]["errors"], 20);
  EXPECT_EQ(f["evidence"]["calls"], 40);
  EXPECT_NEAR(f["evidence"]["error_share"].get<double>(), 0.5, 0.001);
  EXPECT_NE(f["title"].get<std::string>().find("INTERNAL"), std::string::npos);
}

TEST_F(ApplicationFindingsTest, DeadlinesShorterThanTheHandler) {
  ASSERT_NO_FATAL_FAILURE(start());
  // 12 fast calls (the connection is up, TLS included), then 12 calls the
  // handler answers after 300 ms with a 100 ms deadline.
  auto fast = concurrently(12, [](int) {
    grpcscope::test::EchoRequest r;
    r.set_payload("x");
    return r;
  });
  for (const auto& s : fast) EXPECT_TRUE(s.ok()) << statusString(s);
  auto slow = concurrently(
      12,
      [](int) {
        grpcscope::test::EchoRequest r;
        r.set_payload("x");
        r.set_delay_ms(300);
        return r;
      },
      std::chrono::milliseconds(100));
  for (const auto& s : slow) EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << statusString(s);
  nlohmann::json f = waitFinding("application.error_rate", {{"method", kUnary}, {"status", "DEADLINE_EXCEEDED"}});
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["layer"], "application");
  EXPECT_EQ(f["severity"], "critical");  // 12 of 24: half
  const nlohmann::json& e = f["evidence"];
  EXPECT_EQ(e["errors"], 12);
  // What the clients set: grpc-timeout carries the time left when the call
  // went out, a little under 100 ms (more so while threads start at once).
  EXPECT_LE(e["failed_calls_deadline_p50_s"].get<double>(), 0.101);
  EXPECT_GT(e["failed_calls_deadline_p50_s"].get<double>(), 0.05);
  EXPECT_EQ(e["calls_with_deadline_share"], 1.0);
  EXPECT_LT(e["ok_call_p99_s"].get<double>(), 0.1);
  EXPECT_NE(f["recommendation"].get<std::string>().find("ClientContext::set_deadline"), std::string::npos);
}

TEST_F(ApplicationFindingsTest, AStarvedProxySaysItIsItself) {
  // Ticks every 100 ms; the proxy stopped 4 times for 500 ms, as a sidecar
  // throttled by its CPU limit is.
  ASSERT_NO_FATAL_FAILURE(start({"--tcp-info-interval", "100ms"}));
  grpcscope::test::EchoResponse resp;
  ASSERT_TRUE(unaryCall(*stub_, request(16), &resp).ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(::kill(proxy_->pid(), SIGSTOP), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_EQ(::kill(proxy_->pid(), SIGCONT), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let a tick see the gap
  }
  nlohmann::json f = waitFinding("proxy.overhead", {{"cause", "loop_lag"}});
  ASSERT_FALSE(f.is_null()) << "loop_lag in /api/summary: " << getJson("/api/summary")["loop_lag"].dump();
  EXPECT_EQ(f["layer"], "proxy");
  EXPECT_EQ(f["severity"], "warning");
  EXPECT_GE(f["evidence"]["loop_lag_third_largest_s"].get<double>(), 0.1);
  EXPECT_GE(f["evidence"]["loop_lag_max_s"].get<double>(), 0.35);
  EXPECT_NE(f["recommendation"].get<std::string>().find("--workers"), std::string::npos);
}

TEST_F(ApplicationFindingsTest, AFastHealthyServiceRaisesNone) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int round = 0; round < 5; ++round) {
    auto st = concurrently(20, [](int i) { return request(100 + static_cast<size_t>(i) * 1000, 1); });
    for (const auto& s : st) ASSERT_TRUE(s.ok()) << statusString(s);
  }
  ASSERT_TRUE(waitFinished(100));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two evaluations at least
  nlohmann::json all = findings();
  ASSERT_TRUE(all.is_array());
  for (const auto& f : all) {
    const std::string id = f["id"];
    // A sanitized grpcscope really is slow (about 2 ms a call): saying so is right.
    if (id == "proxy.overhead" && proxyIsSanitized()) continue;
    EXPECT_TRUE(id.rfind("application.", 0) != 0 && id.rfind("proxy.", 0) != 0) << f.dump();
    EXPECT_EQ(f["severity"], "info") << f.dump();
  }
}

}  // namespace
}  // namespace grpcscope::testsupport
