// Messages of 4 MiB and 16 MiB in both directions (many DATA frames per
// message, several flow-control windows per message), checked byte by byte.
#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

constexpr int kMaxMessage = 64 << 20;

class LargeMessagesTest : public ProxyTest, public ::testing::WithParamInterface<size_t> {
 protected:
  void SetUp() override {
    EchoServerOptions server;
    server.max_message_size = kMaxMessage;
    ASSERT_NO_FATAL_FAILURE(startServer(server));
    ASSERT_NO_FATAL_FAILURE(startProxy());
    ChannelOptions options;
    options.max_message_size = kMaxMessage;
    channel_ = channel(options);
    stub_ = makeStub(channel_);
  }
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

TEST_P(LargeMessagesTest, UnaryRequestAndResponse) {
  const size_t size = GetParam();
  EchoRequest req = request(size, 3);  // response_size 0: the payload comes back
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, req, &resp, scaled(60s));
  ASSERT_TRUE(st.ok()) << statusString(st);
  ASSERT_EQ(resp.payload().size(), size);
  EXPECT_EQ(firstPayloadMismatch(resp.payload(), 3), std::string::npos);
}

TEST_P(LargeMessagesTest, SmallRequestLargeResponse) {
  const size_t size = GetParam();
  EchoRequest req = request(10);
  req.set_response_size(static_cast<int32_t>(size));
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, req, &resp, scaled(60s));
  ASSERT_TRUE(st.ok()) << statusString(st);
  ASSERT_EQ(resp.payload().size(), size);
  EXPECT_EQ(firstPayloadMismatch(resp.payload(), 0), std::string::npos);
}

TEST_P(LargeMessagesTest, ClientStreamingLargeMessages) {
  const size_t size = GetParam();
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60s)));
  EchoResponse resp;
  auto writer = stub_->ClientStream(&ctx, &resp);
  for (uint32_t i = 0; i < 3; ++i) {
    EchoRequest req = request(size, i);
    req.set_response_size(16);
    ASSERT_TRUE(writer->Write(req)) << "write " << i;
  }
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status st = writer->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(resp.requests_seen(), 3);
  EXPECT_EQ(resp.request_bytes_seen(), static_cast<int64_t>(3 * size));
}

TEST_P(LargeMessagesTest, ServerStreamingLargeMessages) {
  const size_t size = GetParam();
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60s)));
  EchoRequest req = request(10);
  req.set_response_size(static_cast<int32_t>(size));
  req.set_response_count(3);
  auto reader = stub_->ServerStream(&ctx, req);
  EchoResponse resp;
  int n = 0;
  while (reader->Read(&resp)) {
    ASSERT_EQ(resp.payload().size(), size);
    EXPECT_EQ(firstPayloadMismatch(resp.payload(), 0), std::string::npos);
    EXPECT_EQ(resp.sequence(), n);
    ++n;
  }
  grpc::Status st = reader->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(n, 3);
}

TEST_P(LargeMessagesTest, BidiLargeBothWays) {
  const size_t size = GetParam();
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60s)));
  auto stream = stub_->Bidi(&ctx);
  for (uint32_t i = 0; i < 2; ++i) {
    EchoRequest req = request(size, 10 + i);
    ASSERT_TRUE(stream->Write(req));
    EchoResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    ASSERT_EQ(resp.payload().size(), size);
    EXPECT_EQ(firstPayloadMismatch(resp.payload(), 10 + i), std::string::npos);
  }
  ASSERT_TRUE(stream->WritesDone());
  grpc::Status st = stream->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
}

TEST_F(ProxyTest, MessageAboveTheServerLimitIsTheServersError) {
  // The server keeps gRPC's 4 MiB receive limit: the RESOURCE_EXHAUSTED that
  // comes back is the server's own answer, relayed.
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  ChannelOptions options;
  options.max_message_size = kMaxMessage;
  auto stub = makeStub(channel(options));
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, request(5 << 20), &resp, scaled(60s));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << statusString(st);
  // The connection stays usable.
  st = unaryCall(*stub, request(100), &resp);
  EXPECT_TRUE(st.ok()) << statusString(st);
}

INSTANTIATE_TEST_SUITE_P(Sizes, LargeMessagesTest, ::testing::Values(size_t{4} << 20, size_t{16} << 20),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::to_string(info.param >> 20) + "MiB";
                         });

}  // namespace
}  // namespace grpcscope::testsupport
