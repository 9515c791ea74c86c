// The connection findings (docs/findings.md, "Connection management") raised
// by the real proxy against real peers: a gRPC C++ client that makes a
// channel per call (connection.churn), an upstream port nobody listens on
// (connection.upstream_unavailable), a raw HTTP/2 server that resets
// streams with INTERNAL_ERROR and REFUSED_STREAM
// (connection.goaway_or_reset_errors), and a gRPC C++ server allowing 4
// concurrent streams under 16 concurrent calls
// (connection.max_concurrent_streams_saturated). Each test polls
// /api/findings until its finding is active, then checks its id, layer,
// scope, evidence and that the fix names the stacks' real options.
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "admin/admin_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using namespace h2;
using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

// A loopback port nobody listens on: bound, then closed.
uint16_t closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class ConnectionFindingsTest : public AdminTest {
 protected:
  void SetUp() override { SKIP_IF_DIRECT("reads the proxy's findings"); }

  // The first active finding with `id` whose scope holds `scope`, polled
  // from /api/findings until `timeout` (null when none came). `meanwhile`
  // runs between polls (raw peers that must keep answering).
  nlohmann::json waitForFinding(const std::string& id, const std::map<std::string, std::string>& scope,
                                std::chrono::milliseconds timeout = 15s,
                                const std::function<void()>& meanwhile = {}) {
    nlohmann::json found;
    waitFor(
        [&] {
          if (meanwhile) meanwhile();
          nlohmann::json list = nlohmann::json::parse(get("/api/findings").body, nullptr, false);
          if (!list.is_array()) return false;
          for (const auto& f : list) {
            if (f.value("id", "") != id || !f.value("active", false)) continue;
            bool match = true;
            for (const auto& [k, v] : scope) match = match && f["scope"].value(k, "") == v;
            if (match) {
              found = f;
              return true;
            }
          }
          return false;
        },
        scaled(timeout), 200ms);
    return found;
  }

  std::string lastFindings() { return get("/api/findings").body; }
};

bool mentions(const nlohmann::json& f, const std::string& text) {
  return f["recommendation"].get<std::string>().find(text) != std::string::npos;
}

// A client that builds a channel (so a TCP connection) for every call and
// drops it after: the churn finding names its address.
TEST_F(ConnectionFindingsTest, ChannelPerCallIsChurn) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0};
  std::thread client([&] {
    while (!stop) {
      auto stub = makeStub(channel());  // separate_connection: a connection of its own
      EchoResponse resp;
      grpc::Status st = unaryCall(*stub, request(32), &resp, scaled(5s));
      ++(st.ok() ? calls : failures);
    }
  });
  nlohmann::json f = waitForFinding("connection.churn", {{"client", "127.0.0.1"}});
  stop = true;
  client.join();
  ASSERT_FALSE(f.is_null()) << "no connection.churn after " << calls << " calls: " << lastFindings();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(f["layer"], "connection");
  EXPECT_EQ(f["severity"], "warning");
  EXPECT_EQ(f["scope"]["hop"], "downstream");
  EXPECT_GE(f["evidence"]["new_connections_last_10s"].get<int>(), 50);
  EXPECT_GE(f["evidence"]["new_connections_per_s"].get<double>(), 5.0);
  EXPECT_LE(f["evidence"]["streams_per_closed_connection_p50"].get<double>(), 2.0);
  EXPECT_GE(f["evidence"]["downstream_connections_closed"].get<int>(), 20);
  for (const char* option : {"grpc.NewClient", "grpc::CreateChannel", "ManagedChannel"}) {
    EXPECT_TRUE(mentions(f, option)) << option << " in " << f["recommendation"];
  }
}

// Nothing listens upstream: calls end UNAVAILABLE naming "connection
// refused", and the finding carries that cause.
TEST_F(ConnectionFindingsTest, RefusingUpstreamIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(startProxy({}, "127.0.0.1:" + std::to_string(closedPort())));
  auto stub = makeStub(channel());
  std::string message;
  for (int i = 0; i < 6; ++i) {
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(16), &resp, scaled(5s));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
    message = st.error_message();
  }
  EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
  nlohmann::json f = waitForFinding("connection.upstream_unavailable", {{"hop", "upstream"}});
  ASSERT_FALSE(f.is_null()) << lastFindings();
  EXPECT_EQ(f["layer"], "connection");
  EXPECT_EQ(f["severity"], "critical") << f.dump();  // every call failed
  const nlohmann::json& e = f["evidence"];
  EXPECT_GE(e["upstream_failures"].get<int>(), 5);
  EXPECT_GE(e["cause_kinds"]["refused"].get<int>(), 1) << e.dump();
  bool cause_named = false;
  for (const auto& [text, n] : e["causes"].items()) cause_named = cause_named || text.find("connection refused") != std::string::npos;
  EXPECT_TRUE(cause_named) << e["causes"].dump();
  EXPECT_TRUE(mentions(f, "--upstream")) << f["recommendation"];
  EXPECT_TRUE(mentions(f, "grpc.WaitForReady")) << f["recommendation"];
}

// A raw HTTP/2 server that answers every request with RST_STREAM: 6 times
// INTERNAL_ERROR, 6 times REFUSED_STREAM. One finding per code, upstream.
TEST_F(ConnectionFindingsTest, ServerResettingStreamsIsReported) {
  RawListener listener;
  ASSERT_NO_FATAL_FAILURE(startProxy({}, listener.address()));
  RawConnection client, server;
  std::string error;
  ASSERT_TRUE(rawConnect(client, &error)) << error;
  client.send(std::string(kClientPreface) + settingsFrame());
  int fd = listener.accept(scaled(10s));
  ASSERT_GE(fd, 0) << "the proxy did not connect upstream";
  ASSERT_TRUE(rawAdoptAsServer(server, fd, &error)) << error;
  auto never = [](const Outcome&) { return false; };
  auto pump = [&] {
    client.idleClient(never, 10ms);
    server.idleClient(never, 10ms);
  };
  auto settingsSeen = [](const RawConnection& c) {
    for (const Frame& fr : c.outcome().frames) {
      if (fr.type == kSettings && !(fr.flags & kFlagAck)) return true;
    }
    return false;
  };
  ASSERT_TRUE(waitFor([&] { pump(); return settingsSeen(client) && settingsSeen(server); }, scaled(10s), 1ms))
      << "client: " << client.outcome().describe() << "\nserver: " << server.outcome().describe();
  auto headersSeen = [&](uint32_t stream) {
    for (const Frame& fr : server.outcome().frames) {
      if (fr.type == kHeaders && fr.stream_id == stream) return true;
    }
    return false;
  };
  for (uint32_t i = 0; i < 12; ++i) {
    uint32_t id = 2 * i + 1;  // the same id on both hops: the proxy maps them in order
    client.send(headersFrames(id, grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary"), false));
    ASSERT_TRUE(waitFor([&] { pump(); return headersSeen(id); }, scaled(10s), 1ms))
        << "stream " << id << " never reached the server: " << server.outcome().describe();
    server.send(rstStreamFrame(id, i < 6 ? kInternalError : kRefusedStream));
  }
  for (const auto& [code, status] : {std::pair<std::string, std::string>{"INTERNAL_ERROR", "INTERNAL"},
                                     {"REFUSED_STREAM", "UNAVAILABLE"}}) {
    nlohmann::json f = waitForFinding("connection.goaway_or_reset_errors", {{"hop", "upstream"}, {"error_code", code}},
                                      15s, pump);
    ASSERT_FALSE(f.is_null()) << code << ": " << lastFindings();
    EXPECT_EQ(f["layer"], "connection");
    EXPECT_EQ(f["severity"], "warning");
    const nlohmann::json& e = f["evidence"];
    EXPECT_EQ(e["rst_stream_received"], 6) << e.dump();
    EXPECT_EQ(e["sent_by"], "the server");
    EXPECT_EQ(e["grpc_status_seen_by_client"], status);
    EXPECT_NE(e["meaning"].get<std::string>().find(code), std::string::npos) << e["meaning"];
    if (code == "REFUSED_STREAM") {
      EXPECT_TRUE(mentions(f, "grpc.MaxConcurrentStreams")) << f["recommendation"];
      EXPECT_TRUE(mentions(f, "maxConcurrentCallsPerConnection")) << f["recommendation"];
    }
  }
}

// A gRPC C++ server allowing 4 concurrent streams per connection
// (grpc.max_concurrent_streams) and 16 calls kept in flight on one channel:
// the connection sits at its limit, the client queues the rest.
TEST_F(ConnectionFindingsTest, FewConcurrentStreamsSaturate) {
  EchoServerOptions options;
  options.int_args = {{GRPC_ARG_MAX_CONCURRENT_STREAMS, 4}};
  ASSERT_NO_FATAL_FAILURE(startServer(options));
  ASSERT_NO_FATAL_FAILURE(startProxy());
  auto ch = channel();
  ASSERT_TRUE(waitConnected(ch, scaled(10s)));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t) {
    callers.emplace_back([&] {
      auto stub = makeStub(ch);
      while (!stop) {
        EchoRequest req = request(64);
        req.set_delay_ms(100);
        EchoResponse resp;
        if (!unaryCall(*stub, req, &resp, scaled(20s)).ok()) ++failures;
      }
    });
  }
  nlohmann::json f = waitForFinding("connection.max_concurrent_streams_saturated", {{"hop", "upstream"}}, 20s);
  stop = true;
  for (auto& t : callers) t.join();
  ASSERT_FALSE(f.is_null()) << lastFindings();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(f["layer"], "connection");
  EXPECT_EQ(f["severity"], "warning");
  const nlohmann::json& e = f["evidence"];
  EXPECT_EQ(e["max_concurrent_streams"], 4) << e.dump();
  EXPECT_GE(e["at_limit_share"].get<double>(), 0.5) << e.dump();
  EXPECT_GE(e["busy_s"].get<double>(), 3.0) << e.dump();
  for (const char* option : {"grpc.MaxConcurrentStreams", "grpc.max_concurrent_streams", "maxConcurrentCallsPerConnection"}) {
    EXPECT_TRUE(mentions(f, option)) << option;
  }
  // The server's limit is reported once, upstream, not again for the client's hop.
  nlohmann::json list = nlohmann::json::parse(lastFindings());
  for (const auto& other : list) {
    if (other["id"] == "connection.max_concurrent_streams_saturated") EXPECT_EQ(other["scope"]["hop"], "upstream");
  }
}

}  // namespace
}  // namespace grpcscope::testsupport
