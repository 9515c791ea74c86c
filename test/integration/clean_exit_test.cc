// After a mixed workload (every call type, cancels, a large message, a
// protocol error, an upstream failure) and with every client gone, SIGTERM
// makes the proxy exit 0. Under the asan preset this is the leak check:
// LeakSanitizer runs at that exit and turns any leak into a non-zero status
// and a report in the log.
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

TEST_F(ProxyTest, ExitsCleanlyAfterMixedWorkload) {
  SKIP_IF_DIRECT("checks the proxy's exit");
  EchoServerOptions server;
  server.max_message_size = 64 << 20;
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  ASSERT_NO_FATAL_FAILURE(startProxy({"--drain-timeout", "3s"}));
  {
    ChannelOptions options;
    options.max_message_size = 64 << 20;
    auto stub = makeStub(channel(options));
    EchoResponse resp;
    ASSERT_TRUE(unaryCall(*stub, request(1000), &resp).ok());
    ASSERT_TRUE(unaryCall(*stub, request(8 << 20), &resp, scaled(60s)).ok());
    EchoRequest failing = request(10);
    failing.set_status_code(grpc::StatusCode::ABORTED);
    EXPECT_EQ(unaryCall(*stub, failing, &resp).error_code(), grpc::StatusCode::ABORTED);
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(20s)));
      EchoRequest req = request(10);
      req.set_response_count(1000);
      req.set_response_size(32 << 10);
      auto reader = stub->ServerStream(&ctx, req);
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(reader->Read(&resp));
      ctx.TryCancel();
      while (reader->Read(&resp)) {
      }
      reader->Finish();
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(20s)));
      auto writer = stub->ClientStream(&ctx, &resp);
      for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer->Write(request(10000, i)));
      writer->WritesDone();
      EXPECT_TRUE(writer->Finish().ok());
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(20s)));
      auto stream = stub->Bidi(&ctx);
      for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(stream->Write(request(100, i)));
        ASSERT_TRUE(stream->Read(&resp));
      }
      ctx.TryCancel();
      stream->Finish();
    }
  }
  {
    h2::RawConnection bad;
    std::string error;
    ASSERT_TRUE(rawConnect(bad, &error)) << error;
    h2::Outcome out = bad.exchange(std::string(h2::kClientPreface) + h2::frame(h2::kData, 0, 0, "x"), scaled(10s));
    EXPECT_TRUE(out.closed) << out.describe();
  }
  // Every client is gone; the server goes away too (upstream failure path).
  server_->shutdown(1s);
  {
    auto stub = makeStub(channel());
    EchoResponse resp;
    EXPECT_EQ(unaryCall(*stub, request(10), &resp, scaled(10s)).error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  ASSERT_TRUE(proxy_->running());
  int status = proxy_->stop(SIGTERM, scaled(30s));
  EXPECT_EQ(status, 0) << "exit status after SIGTERM (LeakSanitizer reports exit non-zero)";
  EXPECT_EQ(proxy_->sanitizerReport(), "");
}

}  // namespace
}  // namespace grpcscope::testsupport
