// GOAWAY relayed: a server shutting down with a call in flight lets that
// call finish and the client sees the shutdown; a server that ages its
// connections out (GRPC_ARG_MAX_CONNECTION_AGE_MS) makes the client reconnect
// transparently; the GOAWAY a raw client receives through the proxy has the
// error code, last stream id and debug data the server sent.
#include <thread>

#include "admin/admin_client.h"
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

TEST_F(ProxyTest, ServerShutdownLetsInFlightCallFinish) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  auto stub = makeStub(channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(30s)));
  EchoRequest req = request(100);
  req.set_delay_ms(1500);
  EchoResponse resp;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> status;
  stub->async()->Unary(&ctx, &req, &resp, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    status = s;
    cv.notify_all();
  });
  ASSERT_TRUE(waitFor([&] { return server_->stats().inFlight() == 1; }, scaled(10s)));
  // Graceful shutdown: GOAWAY now, the call may finish within the grace.
  std::thread shutdown([&] { server_->shutdown(scaled(20s)); });
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, scaled(20s), [&] { return status.has_value(); }));
  }
  shutdown.join();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok()) << statusString(*status);
  EXPECT_EQ(resp.payload(), req.payload());
  // With the server gone, new calls fail as UNAVAILABLE (not hang).
  grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  if (proxy_) EXPECT_TRUE(proxy_->running());
}

TEST_F(ProxyTest, MaxConnectionAgeReconnectsTransparently) {
  EchoServerOptions server;
  server.int_args = {{GRPC_ARG_MAX_CONNECTION_AGE_MS, 400}, {GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 10'000}};
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  ASSERT_NO_FATAL_FAILURE(startProxy());
  auto stub = makeStub(channel());
  int calls = 0;
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until || server_->stats().distinctPeers() < 3) {
    EchoRequest req = request(100, calls);
    req.set_delay_ms(calls % 10 == 0 ? 100 : 0);  // some calls straddle a GOAWAY
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, req, &resp, scaled(10s));
    ASSERT_TRUE(st.ok()) << "call " << calls << ": " << statusString(st);
    ++calls;
    ASSERT_LT(calls, 100'000);
    if (std::chrono::steady_clock::now() > until + scaled(20s)) break;
  }
  EXPECT_GE(server_->stats().distinctPeers(), 3u) << "the server's GOAWAYs should have caused reconnections";
  std::cout << calls << " calls over " << server_->stats().distinctPeers() << " connections\n";
}

TEST_F(ProxyTest, GoawayRelayedWithCodeLastStreamAndDebugData) {
  EchoServerOptions server;
  server.int_args = {{GRPC_ARG_MAX_CONNECTION_AGE_MS, 300}, {GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 2000}};
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  ASSERT_NO_FATAL_FAILURE(startProxy());
  auto firstGoaway = [&](const std::string& host, uint16_t port) {
    h2::RawConnection conn;
    std::string error;
    EXPECT_TRUE(rawConnect(conn, host, port, &error)) << error;
    // Until the server closes after its grace period: every GOAWAY on the way.
    return conn.idleClient([](const h2::Outcome&) { return false; }, scaled(10s));
  };
  h2::Outcome direct = firstGoaway("127.0.0.1", static_cast<uint16_t>(server_->port()));
  h2::Outcome proxied = firstGoaway(targetHost(), targetPort());
  ASSERT_TRUE(direct.goaway) << "direct: " << direct.describe();
  ASSERT_TRUE(proxied.goaway) << "through the proxy: " << proxied.describe();
  EXPECT_EQ(proxied.goaway_error, direct.goaway_error);
  EXPECT_EQ(proxied.goaway_last_stream, direct.goaway_last_stream);
  EXPECT_EQ(proxied.goaway_debug, direct.goaway_debug);
  EXPECT_TRUE(proxied.closed) << proxied.describe();
  ASSERT_EQ(proxied.goaways.size(), direct.goaways.size());
  for (size_t i = 0; i < direct.goaways.size(); ++i) {
    EXPECT_EQ(proxied.goaways[i].error, direct.goaways[i].error) << "GOAWAY #" << i;
    EXPECT_EQ(proxied.goaways[i].last_stream, direct.goaways[i].last_stream) << "GOAWAY #" << i;
    EXPECT_EQ(proxied.goaways[i].debug, direct.goaways[i].debug) << "GOAWAY #" << i;
  }
  std::cout << "direct: " << direct.describe() << "\nproxied: " << proxied.describe() << "\n";
}

TEST_F(ProxyTest, TooManyPingsGoawayRelayedWithDebugData) {
  // gRPC's default server allows no PINGs without data more often than every
  // 5 minutes and after two strikes answers GOAWAY ENHANCE_YOUR_CALM with the
  // debug data "too_many_pings": the failure this proxy exists to diagnose.
  // The client's PINGs go upstream, the GOAWAY comes back unchanged.
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  auto pingUntilGoaway = [&](const std::string& host, uint16_t port) {
    h2::RawConnection conn;
    std::string error;
    EXPECT_TRUE(rawConnect(conn, host, port, &error)) << error;
    h2::Outcome out = conn.pingUntilGoaway(10, scaled(5s));
    return out;
  };
  h2::Outcome direct = pingUntilGoaway("127.0.0.1", static_cast<uint16_t>(server_->port()));
  h2::Outcome proxied = pingUntilGoaway(targetHost(), targetPort());
  ASSERT_TRUE(direct.goaway) << "direct: " << direct.describe();
  EXPECT_EQ(direct.goaway_error, h2::kEnhanceYourCalm) << direct.describe();
  EXPECT_EQ(direct.goaway_debug, "too_many_pings") << direct.describe();
  ASSERT_TRUE(proxied.goaway) << "through the proxy: " << proxied.describe();
  EXPECT_EQ(proxied.goaway_error, direct.goaway_error) << proxied.describe();
  EXPECT_EQ(proxied.goaway_last_stream, direct.goaway_last_stream) << proxied.describe();
  EXPECT_EQ(proxied.goaway_debug, direct.goaway_debug) << proxied.describe();
  std::cout << "direct: " << direct.describe() << "\nproxied: " << proxied.describe() << "\n";

  // What the admin side makes of it: the server's GOAWAY, its debug data, the
  // relayed copy, and the PINGs without data that earned it.
  if (!proxy_) return;  // direct mode
  const std::string admin = "http://" + adminAddressFrom(proxy_->listeningLine());
  auto m = parseExposition(httpRequest(admin + "/metrics").body);
  EXPECT_EQ(sampleValue(m, "grpcscope_goaway_total", {{"error_code", "ENHANCE_YOUR_CALM"}, {"hop", "upstream"}}), 1);
  EXPECT_EQ(sampleValue(m, "grpcscope_goaway_sent_total", {{"error_code", "ENHANCE_YOUR_CALM"}, {"hop", "downstream"}}),
            1);
  EXPECT_GE(sampleValue(m, "grpcscope_pings_without_data_total", {{"hop", "downstream"}}).value_or(0), 2);
  // The GOAWAY grpcscope relayed is the server's word, not a fault of the client's.
  for (const auto& sample : m) {
    if (sample.name == "grpcscope_violations_total") {
      EXPECT_EQ(sample.value, 0) << "a violation counted for kind " << sample.labels.at("kind");
    }
  }
  nlohmann::json summary = nlohmann::json::parse(httpRequest(admin + "/api/summary").body, nullptr, false);
  ASSERT_FALSE(summary.is_discarded());
  EXPECT_EQ(summary["goaway"]["upstream"]["debug_data_received"]["too_many_pings"], 1) << summary["goaway"].dump();
}

}  // namespace
}  // namespace grpcscope::testsupport
