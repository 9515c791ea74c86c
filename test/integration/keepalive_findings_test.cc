// The keepalive and connection-age findings (docs/findings.md, connection
// rules) against the real thing: a grpc-go server (Debian's
// golang-google-grpc-dev, test/support/go/grpcgo_server) enforcing its own
// keepalive policy and maximum connection age, gRPC C++ clients, the real
// grpcscope in between, /api/findings polled until the finding appears.
//
// - A client whose keepalive PINGs (every second, a call open) break the
//   server's EnforcementPolicy{MinTime: 10s}: keepalive.ping_strikes_predicted
//   is raised before the server's GOAWAY ENHANCE_YOUR_CALM "too_many_pings",
//   then keepalive.too_many_pings with the interval, the open call and, once
//   the client reconnected and was refused again, its backoff.
// - The same client against MinTime 100 ms: strikes under the default policy
//   pass without a GOAWAY, grpcscope learns the server is laxer and the
//   prediction resolves.
// - A server with MaxConnectionAge 1 s and grace 1 s, a TLS client making
//   calls and holding a stream open: connection.max_age_churn with the
//   notices, short regular ages, full TLS handshakes and the calls cut.
#include <atomic>
#include <thread>

#include "admin/admin_client.h"
#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

class KeepaliveFindingsTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("the findings are the proxy's");
    if (std::string(GRPCSCOPE_GRPCGO_SERVER).empty()) GTEST_SKIP() << "no go toolchain: grpc-go server not built";
  }

  void TearDown() override {
    ProxyTest::TearDown();
    go_.reset();
  }

  // Starts the grpc-go server with `flags`; over TLS with the suite's server
  // certificate in TLS mode (the proxy then verifies it against the test CA).
  void startGoServer(std::vector<std::string> flags) {
    std::vector<std::string> argv = {GRPCSCOPE_GRPCGO_SERVER};
    argv.insert(argv.end(), flags.begin(), flags.end());
    if (tls()) {
      ASSERT_NO_FATAL_FAILURE(requireCerts());
      argv.insert(argv.end(), {"-tls-cert", suite_certs_->server.cert, "-tls-key", suite_certs_->server.key});
    }
    std::string error;
    go_ = ChildProcess::spawn(argv, {}, &error);
    ASSERT_TRUE(go_) << error;
    const std::string marker = "listening on ";
    ASSERT_TRUE(waitFor([&] { return go_->stdoutText().find('\n') != std::string::npos || !go_->running(); },
                        scaled(20s)))
        << "grpc-go server silent; stderr: " << go_->stderrText();
    std::string out = go_->stdoutText();
    size_t at = out.find(marker);
    ASSERT_NE(at, std::string::npos) << out << go_->stderrText();
    go_address_ = out.substr(at + marker.size(), out.find('\n', at) - at - marker.size());
  }

  std::string admin() const { return "http://" + adminAddressFrom(proxy_->listeningLine()); }

  // The active finding with this id in /api/findings, polled until it
  // appears (and `accept` holds for it) or the deadline passes.
  // `list_then`: the whole list in which it was found.
  nlohmann::json waitFinding(const std::string& id, std::chrono::milliseconds timeout,
                             const std::function<bool(const nlohmann::json&)>& accept = nullptr,
                             nlohmann::json* list_then = nullptr) {
    nlohmann::json found;
    waitFor(
        [&] {
          nlohmann::json list = findings();
          if (!list.is_array()) return false;
          for (const auto& f : list) {
            if (f.value("id", "") == id && f.value("active", false) && (!accept || accept(f))) {
              found = f;
              if (list_then) *list_then = list;
              return true;
            }
          }
          return false;
        },
        timeout, 200ms);
    return found;
  }

  nlohmann::json findings() {
    return nlohmann::json::parse(httpRequest(admin() + "/api/findings").body, nullptr, false);
  }

  std::unique_ptr<ChildProcess> go_;
  std::string go_address_;
};

// A bidi call held open on `stub` (one message echoed, then waiting), ended
// when the connection goes or the test cancels it.
struct HeldCall {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<EchoRequest, EchoResponse>> stream;
  std::thread reader;
  std::atomic<bool> echoed{false};
  std::atomic<bool> ended{false};

  HeldCall(grpcscope::test::Echo::Stub& stub, const EchoRequest& request) {
    stream = stub.Bidi(&ctx);
    stream->Write(request);
    reader = std::thread([this] {
      EchoResponse r;
      while (stream->Read(&r)) echoed = true;
      ended = true;
    });
  }
  ~HeldCall() {
    ctx.TryCancel();
    reader.join();
    stream->Finish();
  }
};

TEST_F(KeepaliveFindingsTest, PingStrikesPredictedThenTooManyPingsWithBackoff) {
  // grpc-go refuses PINGs closer than 10 s while calls are open (its default is 5 min).
  ASSERT_NO_FATAL_FAILURE(startGoServer({"-min-time", "10s"}));
  ASSERT_NO_FATAL_FAILURE(startProxy({}, go_address_));
  ChannelOptions options;
  options.int_args = {
      {GRPC_ARG_KEEPALIVE_TIME_MS, 1000},
      {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(scaled(10s).count())},
      {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
      {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0},  // else gRPC core stops after 2 PINGs without data
  };
  auto ch = channel(options);
  auto stub = makeStub(ch);
  auto held = std::make_unique<HeldCall>(*stub, request(16));
  ASSERT_TRUE(waitFor([&] { return held->echoed.load(); }, scaled(10s))) << "the held call got no echo";

  // Before the GOAWAY: the prediction, with the strikes so far and when the third comes.
  nlohmann::json list_then;
  nlohmann::json predicted = waitFinding("keepalive.ping_strikes_predicted", scaled(15s), nullptr, &list_then);
  ASSERT_FALSE(predicted.is_null()) << findings().dump(1);
  EXPECT_EQ(predicted["layer"], "connection");
  EXPECT_EQ(predicted["severity"], "warning");
  EXPECT_EQ(predicted["scope"]["client"], "127.0.0.1");
  const nlohmann::json& pe = predicted["evidence"];
  EXPECT_GE(pe["strikes"].get<int>(), 1) << pe.dump();
  EXPECT_LE(pe["strikes"].get<int>(), 2) << pe.dump();
  EXPECT_NEAR(pe["client_ping_interval_s"].get<double>(), 1.0, 0.5) << pe.dump();
  EXPECT_LE(pe["third_strike_in_s"].get<double>(), 3.0) << pe.dump();
  EXPECT_EQ(pe["calls_active"], 1) << pe.dump();
  EXPECT_EQ(pe["policy_source"], "grpc_default") << pe.dump();
  EXPECT_EQ(pe["assumed_min_ping_interval_s"], 300) << pe.dump();
  for (const char* option : {"keepalive.EnforcementPolicy", "grpc.keepalive_time_ms", "permitKeepAliveTime"}) {
    EXPECT_NE(predicted["recommendation"].get<std::string>().find(option), std::string::npos) << option;
  }
  bool goaway_already = false;
  for (const auto& f : list_then) goaway_already |= f.value("id", "") == "keepalive.too_many_pings";
  EXPECT_FALSE(goaway_already) << "the prediction came only with the GOAWAY";

  // The server's GOAWAY: the finding with the client's interval and its open call.
  nlohmann::json raised = waitFinding("keepalive.too_many_pings", scaled(15s));
  ASSERT_FALSE(raised.is_null()) << findings().dump(1);
  EXPECT_TRUE(waitFor([&] { return held->ended.load(); }, scaled(10s))) << "the held call survived the GOAWAY";
  EXPECT_EQ(raised["layer"], "connection");
  EXPECT_EQ(raised["severity"], "critical");
  EXPECT_EQ(raised["scope"]["client"], "127.0.0.1");
  EXPECT_EQ(raised["scope"]["hop"], "upstream");
  const nlohmann::json& re = raised["evidence"];
  EXPECT_GE(re["goaways_too_many_pings"].get<int>(), 1) << re.dump();
  EXPECT_NEAR(re["client_ping_interval_s"].get<double>(), 1.0, 0.5) << re.dump();
  EXPECT_EQ(re["calls_active_at_goaway"], 1) << re.dump();
  EXPECT_GE(re["client_keepalive_pings"].get<int>(), 3) << re.dump();
  for (const char* option : {"keepalive.EnforcementPolicy", "grpc.keepalive_time_ms", "permitKeepAliveTime",
                             "keepalive.ClientParameters"}) {
    EXPECT_NE(raised["recommendation"].get<std::string>().find(option), std::string::npos) << option;
  }
  EXPECT_LT(predicted["first_seen"].get<std::string>(), raised["first_seen"].get<std::string>());

  // The client reconnects with its keepalive time doubled (gRPC core's
  // reaction) and, still too fast, is refused again: the backoff shows.
  held.reset();
  held = std::make_unique<HeldCall>(*stub, request(16));
  nlohmann::json again = waitFinding("keepalive.too_many_pings", scaled(25s), [](const nlohmann::json& f) {
    return f["evidence"].value("goaways_too_many_pings_total", 0) >= 2;
  });
  ASSERT_FALSE(again.is_null()) << findings().dump(1);
  const nlohmann::json& by = again["evidence"]["client_ping_interval_by_connection_s"];
  ASSERT_GE(by.size(), 2u) << again.dump();
  EXPECT_GE(by[1].get<double>(), 1.5 * by[0].get<double>()) << "no backoff: " << by.dump();
  EXPECT_EQ(again["evidence"]["client_backed_off"], true) << again.dump();
  EXPECT_EQ(again["evidence"]["reconnects"], 1) << again.dump();
  std::cout << "predicted: " << predicted.dump() << "\nraised: " << again.dump() << "\n";
}

TEST_F(KeepaliveFindingsTest, ALaxerServerIsLearnedFromStrikesWithoutGoaway) {
  // MinTime 100 ms: the client's PINGs every second are fine. Under gRPC's
  // default policy they would be strikes; after a fourth one without a
  // GOAWAY grpcscope knows the server is laxer and stops predicting.
  ASSERT_NO_FATAL_FAILURE(startGoServer({"-min-time", "100ms"}));
  ASSERT_NO_FATAL_FAILURE(startProxy({}, go_address_));
  ChannelOptions options;
  options.int_args = {
      {GRPC_ARG_KEEPALIVE_TIME_MS, 1000},
      {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(scaled(10s).count())},
      {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0},
  };
  auto ch = channel(options);
  auto stub = makeStub(ch);
  HeldCall held(*stub, request(16));
  ASSERT_TRUE(waitFor([&] { return held.echoed.load(); }, scaled(10s))) << "the held call got no echo";
  auto tolerated = [&] {
    nlohmann::json c = nlohmann::json::parse(httpRequest(admin() + "/api/connections").body, nullptr, false);
    return c.dump().find("\"strikes_tolerated\":true") != std::string::npos;
  };
  ASSERT_TRUE(waitFor(tolerated, scaled(15s), 200ms)) << httpRequest(admin() + "/api/connections").body;
  // The prediction (raised while the server's policy was unknown) resolves and stays resolved.
  auto predicting = [&] {
    for (const auto& f : findings()) {
      if (f.value("id", "") == "keepalive.ping_strikes_predicted" && f.value("active", false)) return true;
    }
    return false;
  };
  EXPECT_TRUE(waitFor([&] { return !predicting(); }, scaled(8s), 200ms)) << findings().dump(1);
  std::this_thread::sleep_for(2s);  // two more PINGs: still quiet
  EXPECT_FALSE(predicting()) << findings().dump(1);
  for (const auto& f : findings()) EXPECT_NE(f.value("id", ""), "keepalive.too_many_pings") << f.dump();
  EXPECT_FALSE(held.ended.load()) << "the server closed the held call";
}

TEST_F(KeepaliveFindingsTest, MaxAgeChurnWithFullHandshakesAndCutCalls) {
  ASSERT_NO_FATAL_FAILURE(startGoServer({"-max-connection-age", "1s", "-max-connection-age-grace", "1s"}));
  // The client leg over TLS in any mode (the suite's certificates), so each
  // reconnect is a TLS handshake the finding counts.
  ASSERT_NO_FATAL_FAILURE(requireCerts());
  std::vector<std::string> args;
  if (!tls()) args = {"--tls-cert", suite_certs_->server.cert, "--tls-key", suite_certs_->server.key};
  ASSERT_NO_FATAL_FAILURE(startProxy(args, go_address_));
  ChannelOptions options;
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = suite_certs_->ca.certPem();
  options.credentials = grpc::SslCredentials(ssl);
  options.ssl_target_name_override = "localhost";
  auto ch = makeChannel(target(), options);
  auto stub = makeStub(ch);

  // Unary calls all along, and a stream held open on every connection (cut at the grace period).
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::thread calls([&] {
    while (!stop) {
      EchoResponse r;
      if (unaryCall(*stub, request(64), &r, 2s).ok()) ++ok;
      std::this_thread::sleep_for(50ms);
    }
  });
  std::thread holder([&] {
    while (!stop) {
      HeldCall held(*stub, request(16));
      waitFor([&] { return held.ended.load() || stop.load(); }, 10s, 20ms);
      std::this_thread::sleep_for(20ms);
    }
  });
  nlohmann::json f = waitFinding("connection.max_age_churn", scaled(20s), [](const nlohmann::json& x) {
    return x["evidence"].value("calls_cut_at_grace", 0) >= 1;
  });
  stop = true;
  calls.join();
  holder.join();
  ASSERT_FALSE(f.is_null()) << findings().dump(1);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(f["layer"], "connection");
  EXPECT_EQ(f["severity"], "warning");
  EXPECT_EQ(f["scope"]["hop"], "upstream");
  const nlohmann::json& e = f["evidence"];
  EXPECT_GE(e["goaway_notices"].get<int>(), 3) << e.dump();
  EXPECT_GE(e["goaways_two_phase"].get<int>(), 1) << e.dump();
  // MaxConnectionAge 1 s with grpc-go's +-10% jitter.
  EXPECT_NEAR(e["connection_age_p50_s"].get<double>(), 1.0, 0.35) << e.dump();
  EXPECT_GE(e["full_tls_handshakes_downstream"].get<int>(), 3) << e.dump();
  EXPECT_EQ(e["resumed_tls_handshakes_downstream"], 0) << e.dump();
  EXPECT_GE(e["calls_cut_at_grace"].get<int>(), 1) << e.dump();
  EXPECT_GE(e["client_connections_opened"].get<int>(), 3) << e.dump();
  for (const char* option : {"keepalive.ServerParameters{MaxConnectionAge, MaxConnectionAgeGrace}",
                             "grpc.max_connection_age_ms", "grpc.max_connection_age_grace_ms", "maxConnectionAge()"}) {
    EXPECT_NE(f["recommendation"].get<std::string>().find(option), std::string::npos) << option;
  }
  std::cout << "max_age_churn: " << f.dump() << "\n";
}

}  // namespace
}  // namespace grpcscope::testsupport
