// PINGs relayed end to end: a gRPC client with aggressive keepalive stays
// healthy through the proxy (its PINGs reach a server that allows them, the
// ACKs come back), a raw client's PING comes back ACKed with the same opaque
// data, the proxy logs the measured RTT, and the proxy never sends PINGs of
// its own (a gRPC server counts those as strikes: too_many_pings).
#include <thread>

#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

class PingRelayTest : public ProxyTest {
 protected:
  void SetUp() override {
    EchoServerOptions server;
    server.int_args = {
        {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
        {GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10},
        {GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0},  // 0: unlimited
    };
    ASSERT_NO_FATAL_FAILURE(startServer(server));
    ASSERT_NO_FATAL_FAILURE(startProxy());
  }
};

TEST_F(PingRelayTest, KeepaliveChannelStaysHealthy) {
  ChannelOptions options;
  options.int_args = {
      {GRPC_ARG_KEEPALIVE_TIME_MS, 200},
      {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(scaled(5s).count())},
      {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
      {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0},
  };
  auto ch = channel(options);
  auto stub = makeStub(ch);
  EchoResponse resp;
  ASSERT_TRUE(unaryCall(*stub, request(10), &resp).ok());

  if (proxy_) {
    // Keepalive PINGs every 200 ms: the proxy relays them and logs the RTT.
    EXPECT_TRUE(waitFor([&] { return proxy_->logHasLineWith({"ping", "rtt"}); }, scaled(10s)))
        << "no log line mentions a relayed PING with its rtt";
  }
  // Idle with keepalive running for a while: the scenario under test.
  std::this_thread::sleep_for(2s);
  for (int i = 0; i < 5; ++i) {
    grpc::Status st = unaryCall(*stub, request(10, i), &resp);
    ASSERT_TRUE(st.ok()) << statusString(st);
  }
  EXPECT_EQ(ch->GetState(false), GRPC_CHANNEL_READY);
  EXPECT_EQ(server_->stats().distinctPeers(), 1u) << "the connection was replaced (keepalive failure?)";
}

TEST_F(PingRelayTest, RawPingIsAckedWithSameOpaqueData) {
  h2::RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  std::string hello = std::string(h2::kClientPreface) + h2::settingsFrame();
  h2::Outcome out = conn.sendAndWait(
      hello, [](const h2::Outcome& o) { return !o.frames.empty() && o.frames[0].type == h2::kSettings; }, scaled(10s));
  ASSERT_FALSE(out.frames.empty()) << out.describe();
  const uint64_t opaque = 0x0123456789abcdefULL;
  std::string ping = h2::settingsAck() + h2::pingFrame(opaque);
  auto acked = [&](const h2::Outcome& o) {
    for (const auto& f : o.frames) {
      if (f.type == h2::kPing && (f.flags & h2::kFlagAck) && f.payload == h2::pingFrame(opaque).substr(9)) return true;
    }
    return false;
  };
  out = conn.sendAndWait(ping, acked, scaled(10s));
  EXPECT_TRUE(acked(out)) << out.describe();
  EXPECT_FALSE(out.closed) << out.describe();
}

TEST_F(PingRelayTest, ProxySendsNoPingsOfItsOwn) {
  // A raw client that completes the handshake and then stays idle: any PING
  // (without ACK) it receives was originated by the proxy (the gRPC server
  // sends none on an idle connection by default).
  h2::RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  auto sawPing = [](const h2::Outcome& o) {
    for (const auto& f : o.frames) {
      if (f.type == h2::kPing && !(f.flags & h2::kFlagAck)) return true;
    }
    return false;
  };
  h2::Outcome out = conn.sendAndWait(std::string(h2::kClientPreface) + h2::settingsFrame(), sawPing, 500ms);
  out = conn.sendAndWait(h2::settingsAck(), sawPing, 3s);
  EXPECT_FALSE(sawPing(out)) << out.describe();
}

}  // namespace
}  // namespace grpcscope::testsupport
