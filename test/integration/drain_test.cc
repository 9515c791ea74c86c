// SIGTERM/SIGINT: the proxy stops accepting, sends GOAWAY, lets in-flight
// calls finish, and exits 0 — at once when nothing is in flight, when the
// last call finished, or at --drain-timeout at the latest.
#include <signal.h>

#include "proxy_fixture.h"
#include "support/loopback.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

class DrainTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("draining is the proxy's");
    ASSERT_NO_FATAL_FAILURE(startServer());
  }

  struct PendingCall {
    grpc::ClientContext ctx;
    EchoRequest req;
    EchoResponse resp;
    std::mutex mu;
    std::condition_variable cv;
    std::optional<grpc::Status> status;
    std::chrono::steady_clock::time_point finished;

    bool wait(std::chrono::milliseconds timeout) {
      std::unique_lock lock(mu);
      return cv.wait_for(lock, timeout, [&] { return status.has_value(); });
    }
  };

  void startCall(grpcscope::test::Echo::Stub& stub, PendingCall& call, int delay_ms) {
    call.ctx.set_deadline(deadlineFromNow(scaled(120s)));
    call.req = request(100);
    call.req.set_delay_ms(delay_ms);
    stub.async()->Unary(&call.ctx, &call.req, &call.resp, [&call](grpc::Status s) {
      std::lock_guard lock(call.mu);
      call.status = s;
      call.finished = std::chrono::steady_clock::now();
      call.cv.notify_all();
    });
  }

  static double since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
};

TEST_F(DrainTest, IdleProxyExitsZeroOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--drain-timeout", "10s"}));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(proxy_->stop(SIGTERM, scaled(10s)), 0);
  EXPECT_LT(since(start), 2.0 * slowFactor());
}

TEST_F(DrainTest, IdleProxyExitsZeroOnSigint) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--drain-timeout", "10s"}));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(proxy_->stop(SIGINT, scaled(10s)), 0);
  EXPECT_LT(since(start), 2.0 * slowFactor());
}

TEST_F(DrainTest, IdleClientConnectionDoesNotDelayExit) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--drain-timeout", "10s"}));
  auto stub = makeStub(channel());
  EchoResponse resp;
  ASSERT_TRUE(unaryCall(*stub, request(10), &resp).ok());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(proxy_->stop(SIGTERM, scaled(15s)), 0);
  EXPECT_LT(since(start), 3.0 * slowFactor()) << "no call in flight: no reason to wait for the drain timeout";
}

TEST_F(DrainTest, InFlightCallCompletesAndProxyExitsBeforeDrainTimeout) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--drain-timeout", "20s"}));
  uint16_t port = proxy_->port();
  auto stub = makeStub(channel());
  PendingCall call;
  const int delay_ms = 2000;
  startCall(*stub, call, delay_ms);
  ASSERT_TRUE(waitFor([&] { return server_->stats().inFlight() == 1; }, scaled(10s)));
  auto sigterm_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(proxy_->pid(), SIGTERM), 0);

  // New connections are refused while the call drains.
  EXPECT_TRUE(waitFor([&] { return loopbackConnectRefused(port); }, scaled(5s)))
      << "the listener still accepts after SIGTERM";
  EXPECT_TRUE(proxy_->running()) << "exited before the in-flight call finished";

  ASSERT_TRUE(call.wait(scaled(30s)));
  EXPECT_TRUE(call.status->ok()) << statusString(*call.status);
  EXPECT_EQ(call.resp.payload(), call.req.payload());

  int status = proxy_->waitExit(scaled(15s));
  double exited_after = since(sigterm_at);
  EXPECT_EQ(status, 0);
  EXPECT_LT(exited_after, 20.0) << "waited for the drain timeout although the call had finished";
  EXPECT_GE(std::chrono::duration<double>(call.finished - sigterm_at).count(), 0.5);
}

TEST_F(DrainTest, CallLongerThanDrainTimeoutIsCutAndProxyExitsZero) {
  ASSERT_NO_FATAL_FAILURE(startProxy({"--drain-timeout", "1s"}));
  auto stub = makeStub(channel());
  PendingCall call;
  startCall(*stub, call, 60'000);
  ASSERT_TRUE(waitFor([&] { return server_->stats().inFlight() == 1; }, scaled(10s)));
  auto sigterm_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(proxy_->pid(), SIGTERM), 0);
  int status = proxy_->waitExit(scaled(15s));
  double exited_after = since(sigterm_at);
  EXPECT_EQ(status, 0);
  EXPECT_GE(exited_after, 0.9);
  EXPECT_LT(exited_after, 1.0 + 3.0 * slowFactor());
  // The client learns the call is over (it does not hang until its deadline).
  ASSERT_TRUE(call.wait(scaled(10s)));
  EXPECT_FALSE(call.status->ok());
  std::cout << "cut call status: " << statusString(*call.status) << "\n";
}

}  // namespace
}  // namespace grpcscope::testsupport
