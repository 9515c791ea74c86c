// Several workers that exit together: with every worker idle, SIGTERM ends
// all their loops within microseconds of each other, and each tells the main
// thread so on one uv_async_t. The main thread must close that handle only
// after the last worker signalled (a uv_async_send on a closed handle is
// undefined behaviour in libuv). Repeated, because the window is small; under
// the asan preset, a sanitizer report fails it.
#include <signal.h>

#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

class DrainWorkersTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("the proxy's workers");
    ASSERT_NO_FATAL_FAILURE(startServer());
  }
};

TEST_F(DrainWorkersTest, IdleWorkersExitTogetherRepeatedly) {
  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(startProxy({"--workers", "8", "--drain-timeout", "5s"}));
    int status = proxy_->stop(round % 2 == 0 ? SIGTERM : SIGINT, scaled(20s));
    ASSERT_EQ(status, 0) << proxy_->logTail(40);
    ASSERT_EQ(proxy_->sanitizerReport(), "") << proxy_->logTail(80);
    ASSERT_TRUE(proxy_->logHasLineWith({"grpcscope stopped"})) << proxy_->logTail(40);
    proxy_.reset();
  }
}

// The same with a client connection on some worker: that worker exits after
// the others (once its connection closed), the rest together.
TEST_F(DrainWorkersTest, WorkersExitTogetherAfterAConnectionClosed) {
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(startProxy({"--workers", "4", "--drain-timeout", "5s"}));
    {
      auto stub = makeStub(channel());
      grpcscope::test::EchoResponse resp;
      ASSERT_TRUE(unaryCall(*stub, request(10), &resp).ok());
    }
    ASSERT_EQ(proxy_->stop(SIGTERM, scaled(20s)), 0) << proxy_->logTail(40);
    ASSERT_EQ(proxy_->sanitizerReport(), "") << proxy_->logTail(80);
    proxy_.reset();
  }
}

}  // namespace
}  // namespace grpcscope::testsupport
