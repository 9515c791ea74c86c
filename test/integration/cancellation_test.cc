// RST_STREAM both ways: a client cancel reaches the server as a cancel, a
// server-side reset reaches the client with the same status a direct client
// sees, and data dropped by resets does not leak flow-control window (later
// large calls on the same connection still go through).
#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

class CancellationTest : public ProxyTest {
 protected:
  void SetUp() override {
    EchoServerOptions server;
    server.max_message_size = 64 << 20;
    ASSERT_NO_FATAL_FAILURE(startServer(server));
    ASSERT_NO_FATAL_FAILURE(startProxy());
    ChannelOptions options;
    options.max_message_size = 64 << 20;
    channel_ = channel(options);
    stub_ = makeStub(channel_);
    ASSERT_TRUE(waitConnected(channel_, scaled(10s)));
  }

  void expectServerSawCancel(int64_t cancels_before) {
    EXPECT_TRUE(waitFor([&] { return server_->stats().cancelsObserved() > cancels_before; }, scaled(10s)))
        << "the server never saw the client's cancel";
    EXPECT_TRUE(waitFor([&] { return server_->stats().inFlight() == 0; }, scaled(10s)))
        << server_->stats().inFlight() << " calls still open on the server";
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

TEST_F(CancellationTest, ClientCancelOfUnaryReachesServer) {
  int64_t before = server_->stats().cancelsObserved();
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60s)));
  EchoRequest req = request(10);
  req.set_delay_ms(60'000);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> status;
  EchoResponse resp;
  stub_->async()->Unary(&ctx, &req, &resp, [&](grpc::Status s) {
    std::lock_guard lock(mu);
    status = s;
    cv.notify_all();
  });
  ASSERT_TRUE(waitFor([&] { return server_->stats().inFlight() == 1; }, scaled(10s)));
  ctx.TryCancel();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, scaled(10s), [&] { return status.has_value(); }));
  }
  EXPECT_EQ(status->error_code(), grpc::StatusCode::CANCELLED) << statusString(*status);
  expectServerSawCancel(before);
}

TEST_F(CancellationTest, ClientCancelMidServerStreamReachesServer) {
  int64_t before = server_->stats().cancelsObserved();
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60s)));
  EchoRequest req = request(10);
  req.set_response_count(100'000);
  req.set_response_size(1000);
  req.set_delay_ms(5);
  auto reader = stub_->ServerStream(&ctx, req);
  EchoResponse resp;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(reader->Read(&resp));
  ctx.TryCancel();
  while (reader->Read(&resp)) {
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << statusString(st);
  expectServerSawCancel(before);
}

TEST_F(CancellationTest, ClientCancelMidBidiReachesServer) {
  int64_t before = server_->stats().cancelsObserved();
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60s)));
  auto stream = stub_->Bidi(&ctx);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stream->Write(request(100, i)));
    EchoResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
  }
  ctx.TryCancel();
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << statusString(st);
  expectServerSawCancel(before);
}

TEST_F(CancellationTest, ServerResetReachesClientAsDirectly) {
  // The same reset seen directly and through the proxy must give the same
  // status: the proxy relays the server's RST_STREAM/trailers unchanged.
  auto direct = makeStub(channelTo(server_->address()));
  for (const char* kind : {"unary", "server-stream", "bidi"}) {
    auto run = [&](grpcscope::test::Echo::Stub& stub) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(20s)));
      EchoRequest req = request(10);
      req.set_cancel_self(true);
      EchoResponse resp;
      if (std::string(kind) == "unary") return stub.Unary(&ctx, req, &resp);
      if (std::string(kind) == "server-stream") {
        auto reader = stub.ServerStream(&ctx, req);
        while (reader->Read(&resp)) {
        }
        return reader->Finish();
      }
      auto stream = stub.Bidi(&ctx);
      stream->Write(req);
      while (stream->Read(&resp)) {
      }
      return stream->Finish();
    };
    grpc::Status want = run(*direct);
    grpc::Status got = run(*stub_);
    EXPECT_FALSE(got.ok()) << kind;
    EXPECT_EQ(got.error_code(), want.error_code())
        << kind << ": through the proxy " << statusString(got) << ", directly " << statusString(want);
  }
  // The connection is still fine.
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, request(10), &resp);
  EXPECT_TRUE(st.ok()) << statusString(st);
}

TEST_F(CancellationTest, ResetsMidBodyDoNotLeakConnectionWindow) {
  // Each cancel drops data already in flight toward the client (downstream
  // direction) and toward the server (upstream direction). If the proxy did
  // not give that window back, the connection window would close after a few
  // rounds and the large calls at the end would hang.
  for (int round = 0; round < 8; ++round) {
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(30s)));
      EchoRequest req = request(10);
      req.set_response_count(1000);
      req.set_response_size(64 << 10);
      auto reader = stub_->ServerStream(&ctx, req);
      EchoResponse resp;
      for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader->Read(&resp)) << "round " << round;
      ctx.TryCancel();
      while (reader->Read(&resp)) {
      }
      reader->Finish();
    }
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(30s)));
      EchoResponse resp;
      auto writer = stub_->ClientStream(&ctx, &resp);
      for (int i = 0; i < 6; ++i) {
        if (!writer->Write(request(1 << 20, i))) break;
      }
      ctx.TryCancel();
      writer->Finish();
    }
  }
  EchoRequest big = request(16 << 20, 5);
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, big, &resp, scaled(60s));
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(resp.payload().size(), size_t{16} << 20);
}

}  // namespace
}  // namespace grpcscope::testsupport
