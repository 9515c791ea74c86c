// A known workload through the proxy, and every count the admin side reports
// about it checked exactly: /metrics, /api/summary, /api/methods and the
// /api/events stream, to the byte.
#include <gtest/gtest.h>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

constexpr const char* kUnary = "grpcscope.test.Echo/Unary";

class ExactCountsTest : public AdminTest {};

TEST_F(ExactCountsTest, KnownWorkloadIsCountedToTheByte) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  EventStreamReader events(adminUrl() + "/api/events");
  ASSERT_TRUE(events.waitConnected(scaled(std::chrono::milliseconds(5000))));

  auto ch = channel();
  auto stub = makeStub(ch);
  constexpr int kCalls = 224;  // 211 OK + 13 PERMISSION_DENIED
  uint64_t request_bytes = 0, response_bytes = 0;
  int ok = 0, denied = 0;
  for (int i = 0; i < kCalls; ++i) {
    grpcscope::test::EchoRequest req = request(777, static_cast<uint32_t>(i));
    if (i % 17 == 16) {  // 13 of the 224
      req.set_status_code(grpc::StatusCode::PERMISSION_DENIED);
      req.set_status_message("no entry");
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(std::chrono::milliseconds(10000))));
    ctx.AddMetadata("authorization", "Bearer s3cr3t-token-value");
    ctx.AddMetadata("cookie", "session=c00kie-value");
    grpcscope::test::EchoResponse resp;
    grpc::Status st = stub->Unary(&ctx, req, &resp);
    request_bytes += req.ByteSizeLong();
    if (st.ok()) {
      ++ok;
      response_bytes += resp.ByteSizeLong();
    } else {
      ASSERT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << statusString(st);
      ++denied;
    }
  }
  ASSERT_EQ(ok, 211);
  ASSERT_EQ(denied, 13);
  ASSERT_TRUE(waitFinished(kCalls));

  // /metrics
  auto m = scrape();
  auto value = [&](const std::string& name, std::map<std::string, std::string> labels) {
    auto v = sampleValue(m, name, labels);
    EXPECT_TRUE(v.has_value()) << name << " is missing";
    return v.value_or(-1);
  };
  EXPECT_EQ(value("grpcscope_calls_started_total", {{"grpc_method", kUnary}}), kCalls);
  EXPECT_EQ(value("grpcscope_calls_finished_total", {{"grpc_method", kUnary}, {"grpc_status", "OK"}}), 211);
  EXPECT_EQ(value("grpcscope_calls_finished_total", {{"grpc_method", kUnary}, {"grpc_status", "PERMISSION_DENIED"}}),
            13);
  EXPECT_EQ(value("grpcscope_call_duration_seconds_count", {{"grpc_method", kUnary}, {"grpc_status", "OK"}}), 211);
  EXPECT_EQ(value("grpcscope_call_duration_seconds_count",
                  {{"grpc_method", kUnary}, {"grpc_status", "PERMISSION_DENIED"}}),
            13);
  EXPECT_EQ(value("grpcscope_messages_total", {{"grpc_method", kUnary}, {"direction", "request"}}), kCalls);
  EXPECT_EQ(value("grpcscope_messages_total", {{"grpc_method", kUnary}, {"direction", "response"}}), 211);
  EXPECT_EQ(value("grpcscope_message_bytes_total", {{"grpc_method", kUnary}, {"direction", "request"}}),
            static_cast<double>(request_bytes));
  EXPECT_EQ(value("grpcscope_message_bytes_total", {{"grpc_method", kUnary}, {"direction", "response"}}),
            static_cast<double>(response_bytes));
  EXPECT_EQ(value("grpcscope_message_size_bytes_count", {{"grpc_method", kUnary}, {"direction", "request"}}), kCalls);
  EXPECT_EQ(value("grpcscope_message_size_bytes_sum", {{"grpc_method", kUnary}, {"direction", "request"}}),
            static_cast<double>(request_bytes));
  // Every request message is 780 or 784 bytes: all in the (512, 1024] bucket.
  EXPECT_EQ(value("grpcscope_message_size_bytes_bucket",
                  {{"grpc_method", kUnary}, {"direction", "request"}, {"le", "512"}}),
            0);
  EXPECT_EQ(value("grpcscope_message_size_bytes_bucket",
                  {{"grpc_method", kUnary}, {"direction", "request"}, {"le", "1024"}}),
            kCalls);
  // DATA payload = messages + their 5-byte prefixes, on both hops.
  for (const char* hop : {"downstream", "upstream"}) {
    const char* req_dir = std::string(hop) == "downstream" ? "received" : "sent";
    const char* resp_dir = std::string(hop) == "downstream" ? "sent" : "received";
    EXPECT_EQ(value("grpcscope_data_bytes_total", {{"hop", hop}, {"direction", req_dir}}),
              static_cast<double>(request_bytes + 5 * kCalls))
        << hop;
    EXPECT_EQ(value("grpcscope_data_bytes_total", {{"hop", hop}, {"direction", resp_dir}}),
              static_cast<double>(response_bytes + 5 * 211))
        << hop;
  }
  EXPECT_EQ(value("grpcscope_connections_total", {{"hop", "downstream"}}), 1);
  EXPECT_EQ(value("grpcscope_connections_total", {{"hop", "upstream"}}), 1);
  EXPECT_EQ(value("grpcscope_connections_active", {{"hop", "downstream"}}), 1);
  EXPECT_EQ(value("grpcscope_calls_active", {}), 0);

  // /api/summary
  nlohmann::json s = getJson("/api/summary");
  EXPECT_EQ(s["rpcs"]["started"], kCalls);
  EXPECT_EQ(s["rpcs"]["finished"], kCalls);
  EXPECT_EQ(s["rpcs"]["ok"], 211);
  EXPECT_EQ(s["rpcs"]["errors"], 13);
  EXPECT_EQ(s["rpcs"]["by_status"]["PERMISSION_DENIED"], 13);
  EXPECT_EQ(s["connections"]["downstream"]["active"], 1);
  EXPECT_EQ(s["latency"]["count"], kCalls);
  EXPECT_GT(s["latency"]["p50_s"].get<double>(), 0);

  // /api/methods
  nlohmann::json methods = getJson("/api/methods");
  ASSERT_EQ(methods["methods"].size(), 1u) << methods.dump();
  const nlohmann::json& unary = methods["methods"][0];
  EXPECT_EQ(unary["method"], kUnary);
  EXPECT_EQ(unary["calls"]["started"], kCalls);
  EXPECT_EQ(unary["status"]["OK"], 211);
  EXPECT_EQ(unary["status"]["PERMISSION_DENIED"], 13);
  EXPECT_EQ(unary["request"]["messages"], kCalls);
  EXPECT_EQ(unary["request"]["bytes"], request_bytes);
  EXPECT_EQ(unary["response"]["bytes"], response_bytes);
  // The wire analysis sampled request messages: field 1 (payload) carries almost all bytes.
  const nlohmann::json& wire = unary["wire"]["request"];
  ASSERT_GT(wire["messages"].get<uint64_t>(), 0u) << wire.dump();
  EXPECT_EQ(wire["fields"][0]["path"], "1") << wire.dump();

  // /api/events: one event per call, the same totals.
  std::vector<nlohmann::json> got = events.waitFor(kCalls, scaled(std::chrono::milliseconds(10000)));
  ASSERT_EQ(got.size(), static_cast<size_t>(kCalls));
  uint64_t ev_req = 0, ev_resp = 0;
  int ev_ok = 0, ev_denied = 0;
  for (const auto& e : got) {
    EXPECT_EQ(e["method"], kUnary);
    ev_req += e["request"]["bytes"].get<uint64_t>();
    ev_resp += e["response"]["bytes"].get<uint64_t>();
    if (e["status"] == "OK") ++ev_ok;
    if (e["status"] == "PERMISSION_DENIED") {
      ++ev_denied;
      EXPECT_EQ(e["grpc_message"], "no entry");
    }
  }
  EXPECT_EQ(ev_ok, 211);
  EXPECT_EQ(ev_denied, 13);
  EXPECT_EQ(ev_req, request_bytes);
  EXPECT_EQ(ev_resp, response_bytes);

  // Credentials never leave the proxy: not in events, JSON, metrics or the log.
  for (const std::string& text :
       {events.raw(), get("/api/summary").body, get("/api/methods").body, get("/api/connections").body,
        get("/metrics").body, proxy_->logText()}) {
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(text.find("c00kie"), std::string::npos);
  }
}

// Several workers: each keeps its own statistics; the admin side adds them up.
TEST_F(ExactCountsTest, WorkersAreMergedExactly) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy({"--workers", "2"});
  constexpr int kConnections = 6, kCallsEach = 25;
  uint64_t request_bytes = 0;
  std::vector<std::shared_ptr<grpc::Channel>> channels;  // kept open for /api/connections
  for (int c = 0; c < kConnections; ++c) {
    channels.push_back(channel());  // a connection of its own
    auto stub = makeStub(channels.back());
    for (int i = 0; i < kCallsEach; ++i) {
      grpcscope::test::EchoRequest req = request(100 + static_cast<size_t>(i), static_cast<uint32_t>(i));
      grpcscope::test::EchoResponse resp;
      ASSERT_TRUE(unaryCall(*stub, req, &resp, scaled(std::chrono::milliseconds(10000))).ok());
      request_bytes += req.ByteSizeLong();
    }
  }
  ASSERT_TRUE(waitFinished(kConnections * kCallsEach));
  auto m = scrape();
  EXPECT_EQ(sampleValue(m, "grpcscope_workers_answered", {{"workers", "2"}}), 2);
  EXPECT_EQ(sampleValue(m, "grpcscope_calls_started_total", {{"grpc_method", kUnary}}), kConnections * kCallsEach);
  EXPECT_EQ(sampleValue(m, "grpcscope_message_bytes_total", {{"grpc_method", kUnary}, {"direction", "request"}}),
            static_cast<double>(request_bytes));
  EXPECT_EQ(sampleValue(m, "grpcscope_connections_total", {{"hop", "downstream"}}), kConnections);
  nlohmann::json s = getJson("/api/summary");
  EXPECT_EQ(s["workers"]["count"], 2);
  EXPECT_EQ(s["rpcs"]["ok"], kConnections * kCallsEach);
  EXPECT_EQ(getJson("/api/connections")["count"], kConnections);
}

}  // namespace
}  // namespace grpcscope::testsupport
