// The findings pipeline end to end (docs/findings.md): a real problem (a gRPC
// core server's too_many_pings GOAWAY, earned by a client's PINGs) becomes a
// finding on /api/findings, in /metrics, as `event: finding` on /api/events
// and as one warn log line; and the windowed figures of /api/summary and
// /api/methods count the last 10 s and 60 s only.
#include <gtest/gtest.h>

#include "admin/admin_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUnary = "grpcscope.test.Echo/Unary";

class FindingsApiTest : public AdminTest {
 protected:
  // The first finding with this id, or null, polled until `timeout`.
  nlohmann::json waitFinding(const std::string& id, bool active, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
    while (std::chrono::steady_clock::now() < deadline) {
      nlohmann::json list = getJson("/api/findings");
      for (const auto& f : list) {
        if (f.value("id", "") == id && f.value("active", !active) == active) return f;
      }
      std::this_thread::sleep_for(100ms);
    }
    return nullptr;
  }

  nlohmann::json summary() { return getJson("/api/summary"); }
};

TEST_F(FindingsApiTest, AServersTooManyPingsGoawayIsAFindingEverywhere) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  EventStreamReader events(adminUrl() + "/api/events");
  ASSERT_TRUE(events.waitConnected(scaled(5000ms)));
  EXPECT_EQ(getJson("/api/findings"), nlohmann::json::array());  // nothing wrong yet

  // gRPC core's default policy: no PINGs without calls more often than every
  // 5 minutes; the third strike earns GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
  h2::RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, targetHost(), targetPort(), &error)) << error;
  h2::Outcome out = conn.pingUntilGoaway(10, scaled(5s));
  ASSERT_TRUE(out.goaway) << out.describe();
  ASSERT_EQ(out.goaway_debug, "too_many_pings") << out.describe();

  nlohmann::json f = waitFinding("keepalive.too_many_pings", true, 5000ms);
  ASSERT_FALSE(f.is_null()) << getJson("/api/findings").dump(1);
  EXPECT_EQ(f["layer"], "connection");
  EXPECT_EQ(f["severity"], "critical");
  EXPECT_FALSE(f["title"].get<std::string>().empty());
  EXPECT_NE(f["recommendation"].get<std::string>().find("grpc.http2.min_ping_interval_without_data_ms"),
            std::string::npos);
  EXPECT_EQ(f["evidence"]["goaways_too_many_pings"], 1) << f.dump();
  EXPECT_EQ(f["count"], 1);
  EXPECT_EQ(f["active"], true);
  EXPECT_TRUE(f["resolved_at"].is_null());
  for (const char* key : {"first_seen", "last_seen"}) {
    std::string t = f[key].get<std::string>();
    EXPECT_EQ(t.size(), 24u) << key << " " << t;  // 2026-12-01T14:20:00.123Z
    EXPECT_EQ(t.back(), 'Z') << key;
  }

  auto m = scrape();
  EXPECT_EQ(sampleValue(m, "grpcscope_findings",
                        {{"id", "keepalive.too_many_pings"}, {"severity", "critical"}, {"layer", "connection"}}),
            1);
  EXPECT_EQ(sampleValue(m, "grpcscope_findings_raised_total", {{"id", "keepalive.too_many_pings"}}), 1);
  // Every id is exposed from the start (0 until raised): alerts need no "absent()".
  size_t ids = 0;
  for (const auto& s : m) ids += s.name == "grpcscope_findings_raised_total";
  EXPECT_GE(ids, 1u);

  // One SSE event of type finding, and one warn line in the log.
  auto deadline = std::chrono::steady_clock::now() + scaled(5s);
  while (events.raw().find("event: finding") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  std::string raw = events.raw();
  size_t at = raw.find("event: finding\ndata: ");
  ASSERT_NE(at, std::string::npos) << raw.substr(0, 2000);
  std::string line = raw.substr(at + 21, raw.find('\n', at + 21) - (at + 21));
  nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << line;
  EXPECT_EQ(event["id"], "keepalive.too_many_pings");
  EXPECT_EQ(event["active"], true);
  std::string log = proxy_->logText();
  size_t first = log.find("finding raised: keepalive.too_many_pings");
  EXPECT_NE(first, std::string::npos) << proxy_->logTail();
  EXPECT_EQ(log.find("finding raised: keepalive.too_many_pings", first + 1), std::string::npos)
      << "raised once, logged once";
  // The line's level (main.cc's pattern: time, level, text).
  size_t line_start = log.rfind('\n', first);
  std::string head = log.substr(line_start == std::string::npos ? 0 : line_start + 1, first);
  EXPECT_NE(head.find(" warning "), std::string::npos) << head;
}

TEST_F(FindingsApiTest, WindowsCountTheLastSecondsOnly) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  auto stub = makeStub(channel());
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(10s)));
    grpcscope::test::EchoResponse resp;
    ASSERT_TRUE(stub->Unary(&ctx, request(100, static_cast<uint32_t>(i)), &resp).ok());
  }
  ASSERT_TRUE(waitFinished(kCalls));
  // The windows are computed once a second: wait for the one that sees them.
  auto deadline = std::chrono::steady_clock::now() + scaled(5s);
  nlohmann::json s;
  while (std::chrono::steady_clock::now() < deadline) {
    s = summary();
    if (s["windows"]["10s"].value("calls", nlohmann::json::object()).value("finished", 0) == kCalls) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(s["windows"]["10s"]["calls"]["finished"], kCalls) << s["windows"].dump();
  EXPECT_EQ(s["windows"]["10s"]["latency"]["count"], kCalls);
  EXPECT_GT(s["windows"]["10s"]["seconds"].get<double>(), 0);
  EXPECT_LE(s["windows"]["10s"]["seconds"].get<double>(), 11.5);
  EXPECT_EQ(s["windows"]["60s"]["calls"]["finished"], kCalls);
  nlohmann::json methods = getJson("/api/methods")["methods"];
  ASSERT_FALSE(methods.empty());
  EXPECT_EQ(methods[0]["method"], kUnary);
  EXPECT_EQ(methods[0]["windows"]["10s"]["calls"]["finished"], kCalls);
  EXPECT_EQ(methods[0]["windows"]["10s"]["request"]["messages"], kCalls);

  // Quiet for over 10 s: the 10 s window is empty, the 60 s one and the totals are not.
  std::this_thread::sleep_for(12s);
  s = summary();
  EXPECT_EQ(s["windows"]["10s"]["calls"]["finished"], 0) << s["windows"].dump();
  EXPECT_EQ(s["windows"]["10s"]["latency"]["count"], 0);
  EXPECT_EQ(s["windows"]["60s"]["calls"]["finished"], kCalls);
  EXPECT_EQ(s["rpcs"]["finished"], kCalls);
  methods = getJson("/api/methods")["methods"];
  EXPECT_EQ(methods[0]["windows"]["10s"]["calls"]["finished"], 0);
  EXPECT_EQ(methods[0]["windows"]["60s"]["calls"]["finished"], kCalls);
}

}  // namespace
}  // namespace grpcscope::testsupport
