// Handshake and idle timeouts: a client that connects and says nothing (or
// half a preface) is closed after --handshake-timeout; a connection with no
// open stream is closed with GOAWAY after --idle-timeout, while one with a
// call in flight is not; gRPC clients reconnect transparently afterwards.
#include <thread>

#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;
using namespace h2;

class TimeoutsTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("the timeouts are the proxy's");
    ASSERT_NO_FATAL_FAILURE(startServer());
  }
  static double secondsSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
};

TEST_F(TimeoutsTest, SilentClientIsClosedAfterHandshakeTimeout) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--handshake-timeout", "500ms"}));
  RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  auto start = std::chrono::steady_clock::now();
  Outcome out = conn.exchange("", scaled(10s));
  double took = secondsSince(start);
  EXPECT_TRUE(out.closed) << out.describe();
  EXPECT_GE(took, 0.4);
  EXPECT_LT(took, 0.5 + 2.5 * slowFactor());
  if (out.goaway) std::cout << "handshake timeout GOAWAY: " << out.describe() << "\n";
}

TEST_F(TimeoutsTest, HalfAPrefaceIsClosedAfterHandshakeTimeout) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--handshake-timeout", "500ms"}));
  RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  auto start = std::chrono::steady_clock::now();
  Outcome out = conn.exchange(kClientPreface.substr(0, 10), scaled(10s));
  double took = secondsSince(start);
  EXPECT_TRUE(out.closed) << out.describe();
  EXPECT_GE(took, 0.4);
  EXPECT_LT(took, 0.5 + 2.5 * slowFactor());
}

TEST_F(TimeoutsTest, CompletedHandshakeIsNotCutByHandshakeTimeout) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--handshake-timeout", "300ms"}));
  RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  // Idle after a full handshake for well past the handshake timeout.
  Outcome out = conn.idleClient([](const Outcome& o) { return o.goaway || o.closed; }, 1500ms);
  EXPECT_FALSE(out.closed) << out.describe();
  EXPECT_FALSE(out.goaway) << out.describe();
}

TEST_F(TimeoutsTest, IdleConnectionGetsGoawayAndIsClosed) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--idle-timeout", "500ms"}));
  RawConnection conn;
  std::string error;
  ASSERT_TRUE(rawConnect(conn, &error)) << error;
  auto start = std::chrono::steady_clock::now();
  Outcome out = conn.idleClient([](const Outcome& o) { return o.closed; }, scaled(10s));
  double took = secondsSince(start);
  EXPECT_TRUE(out.goaway) << out.describe();
  if (out.goaway) EXPECT_EQ(out.goaway_error, kNoError) << out.describe();
  EXPECT_TRUE(out.closed) << out.describe();
  EXPECT_GE(took, 0.4);
  EXPECT_LT(took, 0.5 + 2.5 * slowFactor());
}

TEST_F(TimeoutsTest, CallInFlightIsNotIdle) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--idle-timeout", "300ms"}));
  auto stub = makeStub(channel());
  EchoRequest req = request(10);
  req.set_delay_ms(1500);
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, req, &resp, scaled(20s));
  EXPECT_TRUE(st.ok()) << statusString(st);
  // A server stream with gaps longer than the idle timeout between messages.
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  EchoRequest sreq = request(10);
  sreq.set_response_count(3);
  sreq.set_delay_ms(500);
  auto reader = stub->ServerStream(&ctx, sreq);
  int n = 0;
  while (reader->Read(&resp)) ++n;
  st = reader->Finish();
  EXPECT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(n, 3);
}

TEST_F(TimeoutsTest, GrpcClientReconnectsAfterIdleClose) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--idle-timeout", "300ms"}));
  auto ch = channel();
  auto stub = makeStub(ch);
  EchoResponse resp;
  ASSERT_TRUE(unaryCall(*stub, request(10), &resp).ok());
  // The proxy closes the idle connection: the channel leaves READY.
  EXPECT_TRUE(waitFor([&] { return ch->GetState(false) != GRPC_CHANNEL_READY; }, scaled(10s)))
      << "the idle connection was not closed";
  grpc::Status st = unaryCall(*stub, request(10), &resp);
  EXPECT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(server_->stats().distinctPeers(), 2u) << "a second upstream connection for the second client connection";
}

}  // namespace
}  // namespace grpcscope::testsupport
