// A server's graceful shutdown (RFC 9113 section 6.8; gRFC A9 for a gRPC
// server's maximum connection age) reaches the client as the server sent it:
// the notice GOAWAY (last stream id 2^31-1), then the PING that times the
// round trip, then after its ACK the final GOAWAY, then a clean close (FIN,
// not a TCP reset). Streams the client opens during the grace period are the
// server's to accept, not grpcscope's to refuse.
//
// The server is gRPC core (the echo server with GRPC_ARG_MAX_CONNECTION_AGE_MS,
// the same transport as grpcio); the client is a raw HTTP/2 peer, so that
// every frame and its order is visible. Each test runs directly against the
// server too, and compares.
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using namespace std::chrono_literals;

class GracefulShutdownTest : public ProxyTest {
 protected:
  void SetUp() override {
    EchoServerOptions server;
    server.int_args = {{GRPC_ARG_MAX_CONNECTION_AGE_MS, 300}, {GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 5000}};
    ASSERT_NO_FATAL_FAILURE(startServer(server));
    ASSERT_NO_FATAL_FAILURE(startProxy());
  }

  static int firstIndex(const h2::Outcome& o, uint8_t type, bool ack = false) {
    for (size_t i = 0; i < o.frames.size(); ++i) {
      const auto& f = o.frames[i];
      if (f.type == type && (type != h2::kPing || static_cast<bool>(f.flags & h2::kFlagAck) == ack)) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  // An idle client until the server has closed the connection.
  h2::Outcome idleUntilClosed(const std::string& host, uint16_t port) {
    h2::RawConnection conn;
    std::string error;
    EXPECT_TRUE(rawConnect(conn, host, port, &error)) << error;
    return conn.idleClient([](const h2::Outcome&) { return false; }, scaled(10s));
  }

  static void expectGracefulSequence(const h2::Outcome& o, const std::string& who) {
    int goaway = firstIndex(o, h2::kGoaway);
    int ping = firstIndex(o, h2::kPing);
    ASSERT_GE(goaway, 0) << who << ": " << o.describe();
    ASSERT_GE(ping, 0) << who << ": no shutdown PING: " << o.describe();
    EXPECT_LT(goaway, ping) << who << ": the PING came before the GOAWAY it follows: " << o.describe();
    ASSERT_EQ(o.goaways.size(), 2u) << who << ": " << o.describe();
    EXPECT_EQ(o.goaways[0].last_stream, 0x7fffffffu) << who;
    EXPECT_EQ(o.goaways[0].error, h2::kNoError) << who;
    EXPECT_EQ(o.goaways[1].error, h2::kNoError) << who;
    EXPECT_TRUE(o.closed) << who << ": " << o.describe();
    EXPECT_FALSE(o.reset) << who << ": the connection ended with a TCP reset: " << o.describe();
  }
};

TEST_F(GracefulShutdownTest, NoticePingFinalGoawayAndFinArriveInTheServersOrder) {
  h2::Outcome direct = idleUntilClosed("127.0.0.1", static_cast<uint16_t>(server_->port()));
  ASSERT_NO_FATAL_FAILURE(expectGracefulSequence(direct, "direct"));
  if (!proxy_) return;
  // The order is the same every time; a few connections make a reordering
  // that depends on how reads split show up too.
  for (int i = 0; i < 5; ++i) {
    h2::Outcome proxied = idleUntilClosed(targetHost(), targetPort());
    ASSERT_NO_FATAL_FAILURE(expectGracefulSequence(proxied, "through grpcscope #" + std::to_string(i)));
    EXPECT_EQ(proxied.goaways[0], direct.goaways[0]) << "the notice is relayed as sent (debug data included)";
  }
}

// The client opens a stream after the notice and before it answers the PING:
// the server still takes it (its final GOAWAY names it), so the call must be
// answered, not refused.
TEST_F(GracefulShutdownTest, StreamOpenedAfterTheNoticeIsServed) {
  auto run = [&](const std::string& host, uint16_t port) {
    h2::RawConnection conn;
    std::string error;
    EXPECT_TRUE(rawConnect(conn, host, port, &error)) << error;
    conn.idleClient([](const h2::Outcome& o) { return o.goaway; }, scaled(10s));
    grpcscope::test::EchoRequest req;
    req.set_payload("during the grace period");
    conn.send(h2::headersFrames(1, h2::grpcRequestBlock("localhost", "/grpcscope.test.Echo/Unary"), false) +
              h2::frame(h2::kData, h2::kFlagEndStream, 1, h2::grpcMessage(req.SerializeAsString())));
    // Now the shutdown PING's ACK (idleClient answers only what comes next).
    for (const auto& f : conn.outcome().frames) {
      if (f.type == h2::kPing && !(f.flags & h2::kFlagAck)) conn.send(h2::frame(h2::kPing, h2::kFlagAck, 0, f.payload));
    }
    return conn.idleClient([](const h2::Outcome&) { return false; }, scaled(10s));
  };
  auto answered = [](const h2::Outcome& o) {
    for (const auto& f : o.frames) {
      if (f.stream_id == 1 && f.type == h2::kHeaders && (f.flags & h2::kFlagEndStream)) return true;
    }
    return false;
  };
  auto refused = [](const h2::Outcome& o) {
    for (const auto& f : o.frames) {
      if (f.stream_id == 1 && f.type == h2::kRstStream) return true;
    }
    return false;
  };
  h2::Outcome direct = run("127.0.0.1", static_cast<uint16_t>(server_->port()));
  ASSERT_TRUE(answered(direct)) << "direct: " << direct.describe();
  if (!proxy_) return;
  std::cout << "direct: " << direct.describe() << "\n";
  h2::Outcome proxied = run(targetHost(), targetPort());
  std::cout << "through grpcscope: " << proxied.describe() << "\n";
  EXPECT_TRUE(answered(proxied)) << "through grpcscope: " << proxied.describe();
  EXPECT_FALSE(refused(proxied)) << "grpcscope refused a stream the server accepts: " << proxied.describe();
  EXPECT_EQ(proxied.goaways.size(), direct.goaways.size()) << proxied.describe();
  ASSERT_EQ(proxied.goaways.size(), 2u) << proxied.describe();
  EXPECT_EQ(proxied.goaways[1], direct.goaways[1]) << "the final GOAWAY names stream 1, as the server's does";
}

}  // namespace
}  // namespace grpcscope::testsupport
