// /api/connections: both hops of a live connection with their SETTINGS,
// windows, PING RTT, TCP_INFO and (over TLS) the handshake facts.
#include <gtest/gtest.h>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

class ConnectionsTest : public AdminTest {};

TEST_F(ConnectionsTest, LiveConnectionShowsBothHops) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy({"--tcp-info-interval", "100ms"});
  auto ch = channel();
  auto stub = makeStub(ch);
  grpcscope::test::EchoResponse resp;
  ASSERT_TRUE(unaryCall(*stub, request(100, 1), &resp, scaled(std::chrono::milliseconds(10000))).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few TCP_INFO ticks

  nlohmann::json j = getJson("/api/connections");
  ASSERT_EQ(j["count"], 1) << j.dump(2);
  ASSERT_EQ(j["connections"].size(), 1u);
  const nlohmann::json& c = j["connections"][0];
  EXPECT_EQ(c["calls"], 1);
  for (const char* hop : {"downstream", "upstream"}) {
    const nlohmann::json& leg = c[hop];
    ASSERT_TRUE(leg.is_object()) << hop << ": " << c.dump(2);
    EXPECT_TRUE(leg["open"].get<bool>()) << hop;
    EXPECT_EQ(leg["streams"], 1) << hop;
    // Both peers sent SETTINGS; gRPC C++ always announces its initial window.
    EXPECT_TRUE(leg["settings"]["received"].contains("INITIAL_WINDOW_SIZE")) << hop << leg.dump(2);
    EXPECT_GT(leg["windows"]["send_window"].get<int64_t>(), 0) << hop;
    ASSERT_TRUE(leg["tcp"].is_object()) << hop << ": no TCP_INFO sample";
    EXPECT_GT(leg["tcp"]["rtt_s"].get<double>(), 0) << hop;
    EXPECT_GT(leg["tcp"]["snd_cwnd"].get<int64_t>(), 0) << hop;
    if (tls()) {
      ASSERT_TRUE(leg["tls"].is_object()) << hop;
      EXPECT_EQ(leg["tls"]["alpn"], "h2") << hop;
      EXPECT_EQ(leg["tls"]["version"], "TLSv1.3") << hop;
      EXPECT_GT(leg["tls"]["handshake_s"].get<double>(), 0) << hop;
      EXPECT_TRUE(leg["tls"]["phases"]["server_hello_s"].is_number()) << hop;
    } else {
      EXPECT_TRUE(leg["tls"].is_null()) << hop;
    }
  }
  EXPECT_TRUE(c["upstream"].contains("setup_s"));
  if (tls()) {
    // The client's ClientHello and the server's certificate, as seen by grpcscope.
    EXPECT_EQ(c["downstream"]["tls"]["client_hello"]["ja3_md5"].get<std::string>().size(), 32u);
    EXPECT_NE(c["upstream"]["tls"]["peer_certificate"]["subject"].get<std::string>().find("localhost"),
              std::string::npos);
  }
  auto m = scrape();
  EXPECT_GT(sampleValue(m, "grpcscope_tcp_rtt_seconds_count", {{"hop", "downstream"}}).value_or(0), 0);
  if (tls()) {
    EXPECT_EQ(sampleValue(m, "grpcscope_tls_handshakes_total",
                          {{"hop", "downstream"}, {"version", "TLSv1.3"}, {"alpn", "h2"}, {"resumed", "false"}}),
              1);
  }
}

// PINGs relayed end to end are counted per hop and direction, with an RTT.
TEST_F(ConnectionsTest, KeepalivePingsAreCountedWithTheirRtt) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  EchoServerOptions so;
  so.int_args = {{GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10},
                 {GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0}};
  startServer(so);
  startProxy();
  ChannelOptions co;
  co.int_args = {{GRPC_ARG_KEEPALIVE_TIME_MS, 100},
                 {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
                 {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0},
                 {GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, 50}};
  auto ch = channel(co);
  auto stub = makeStub(ch);
  grpcscope::test::EchoResponse resp;
  ASSERT_TRUE(unaryCall(*stub, request(10, 1), &resp, scaled(std::chrono::milliseconds(10000))).ok());
  // Keepalive PINGs every 100 ms or so once gRPC's timers run: wait for a few.
  std::vector<MetricSample> m;
  double received = 0;
  auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::milliseconds(15000));
  while (std::chrono::steady_clock::now() < deadline) {
    m = scrape();
    received = sampleValue(m, "grpcscope_pings_total", {{"hop", "downstream"}, {"direction", "received"}}).value_or(0);
    if (received >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  double relayed = sampleValue(m, "grpcscope_pings_total", {{"hop", "upstream"}, {"direction", "sent"}}).value_or(0);
  ASSERT_GE(received, 4);
  EXPECT_GE(relayed, received - 1);  // one may be on its way
  EXPECT_GE(sampleValue(m, "grpcscope_ping_rtt_seconds_count", {{"hop", "upstream"}}).value_or(0), 2);
  // After the one call, the PINGs came without data in between.
  EXPECT_GE(sampleValue(m, "grpcscope_pings_without_data_total", {{"hop", "downstream"}}).value_or(0), 2);
  nlohmann::json j = getJson("/api/connections");
  ASSERT_EQ(j["connections"].size(), 1u);
  EXPECT_TRUE(j["connections"][0]["upstream"]["pings"]["rtt_s"].is_object()) << j.dump(2);
}

}  // namespace
}  // namespace grpcscope::testsupport
