// SETTINGS mirroring (docs/architecture.md): the client is offered what the
// server advertised (MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE,
// MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE capped by ours), and the server is
// offered what the client advertised (INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE,
// MAX_HEADER_LIST_SIZE capped), with ENABLE_PUSH 0 upstream.
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using namespace h2;

constexpr uint16_t kEnablePush = 0x2;
constexpr uint16_t kMaxConcurrentStreams = 0x3;
constexpr uint16_t kInitialWindowSize = 0x4;
constexpr uint16_t kMaxFrameSize = 0x5;
constexpr uint16_t kMaxHeaderListSize = 0x6;

// tls: nullptr for h2c (ProxyTest::rawClientTls()).
std::map<uint16_t, uint32_t> firstSettings(const std::string& host, uint16_t port, const TlsClientOptions* tls) {
  RawConnection conn;
  std::string error;
  EXPECT_TRUE(conn.connect(host, port, &error, tls)) << error;
  Outcome out = conn.idleClient(
      [](const Outcome& o) {
        for (const auto& f : o.frames) {
          if (f.type == kSettings && !(f.flags & kFlagAck)) return true;
        }
        return false;
      },
      std::chrono::milliseconds(10000 * slowFactor()));
  for (const auto& f : out.frames) {
    if (f.type == kSettings && !(f.flags & kFlagAck)) return settingsValues(f);
  }
  ADD_FAILURE() << "no SETTINGS: " << out.describe();
  return {};
}

std::string show(const std::map<uint16_t, uint32_t>& values) {
  std::string s;
  for (auto [id, v] : values) s += std::to_string(id) + "=" + std::to_string(v) + " ";
  return s;
}

TEST_F(ProxyTest, ClientIsOfferedTheServersSettings) {
  SKIP_IF_DIRECT("compares the proxy with the server");
  EchoServerOptions server;
  server.int_args = {{GRPC_ARG_MAX_CONCURRENT_STREAMS, 7}, {GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 32768}};
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  ASSERT_NO_FATAL_FAILURE(startProxy());
  auto direct = firstSettings("127.0.0.1", static_cast<uint16_t>(server_->port()), rawClientTls());
  auto proxied = firstSettings(targetHost(), targetPort(), rawClientTls());
  std::cout << "server: " << show(direct) << "\nproxy:  " << show(proxied) << "\n";
  EXPECT_EQ(proxied[kMaxConcurrentStreams], 7u);
  for (uint16_t id : {kInitialWindowSize, kMaxFrameSize}) {
    if (direct.count(id)) EXPECT_EQ(proxied[id], direct[id]) << "setting " << id;
  }
  if (direct.count(kMaxHeaderListSize)) {
    EXPECT_EQ(proxied[kMaxHeaderListSize], std::min<uint32_t>(direct[kMaxHeaderListSize], 64u << 10));
  }
}

TEST_F(ProxyTest, ServerWithoutStreamLimitGetsOurLimit) {
  SKIP_IF_DIRECT("the limit is the proxy's");
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy({"--max-concurrent-streams", "123"}));
  auto proxied = firstSettings(targetHost(), targetPort(), rawClientTls());
  EXPECT_EQ(proxied[kMaxConcurrentStreams], 123u) << show(proxied);
}

TEST_F(ProxyTest, ServerIsOfferedTheClientsSettings) {
  SKIP_IF_DIRECT("needs the proxy between two raw peers");
  RawListener upstream_listener;
  ASSERT_NO_FATAL_FAILURE(startProxy({}, upstream_listener.address()));

  RawConnection client;
  std::string error;
  ASSERT_TRUE(rawConnect(client, &error)) << error;
  std::string hello = std::string(kClientPreface) +
                      settingsFrame({{kInitialWindowSize, 1234567},
                                     {kMaxFrameSize, 32768},
                                     {kMaxConcurrentStreams, 50},
                                     {kMaxHeaderListSize, 10000}});
  client.sendAndWait(hello, [](const Outcome&) { return true; }, scaled(5s));

  int fd = upstream_listener.accept(scaled(10s));
  ASSERT_GE(fd, 0) << "the proxy did not connect upstream";
  RawConnection upstream;
  ASSERT_TRUE(rawAdoptAsServer(upstream, fd, &error)) << error;
  auto relayed = [](const Outcome& o) {
    for (const auto& f : o.frames) {
      if (f.type == kSettings && !(f.flags & kFlagAck) && settingsValues(f).count(kInitialWindowSize) &&
          settingsValues(f).at(kInitialWindowSize) == 1234567) {
        return true;
      }
    }
    return false;
  };
  // Alternate between the two raw peers until the client's values arrive
  // upstream (the proxy may wait for either side's SETTINGS or ACK).
  Outcome up;
  ASSERT_TRUE(waitFor(
      [&] {
        up = upstream.idleClient(relayed, 200ms);
        client.idleClient([](const Outcome&) { return false; }, 50ms);
        return relayed(up) || up.closed;
      },
      scaled(10s), 1ms))
      << up.describe();
  EXPECT_TRUE(upstream.prefaceOk());
  std::map<uint16_t, uint32_t> merged;  // the proxy's view after all its SETTINGS frames
  for (const auto& f : up.frames) {
    if (f.type == kSettings && !(f.flags & kFlagAck)) {
      for (auto [id, v] : settingsValues(f)) merged[id] = v;
    }
  }
  std::cout << "upstream got: " << show(merged) << "\n";
  EXPECT_EQ(merged[kInitialWindowSize], 1234567u);
  EXPECT_EQ(merged[kMaxFrameSize], 32768u);
  EXPECT_EQ(merged[kMaxHeaderListSize], 10000u);
  ASSERT_TRUE(merged.count(kEnablePush));
  EXPECT_EQ(merged[kEnablePush], 0u);
}

}  // namespace
}  // namespace grpcscope::testsupport
