// All four gRPC call types through grpcscope, with payloads checked byte for
// byte and message order checked by sequence number.
#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

class CallTypesTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startServer());
    ASSERT_NO_FATAL_FAILURE(startProxy());
    channel_ = channel();
    stub_ = makeStub(channel_);
  }
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

TEST_F(CallTypesTest, UnaryEchoesThePayload) {
  EchoRequest req = request(1000, 7);
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, req, &resp);
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(resp.payload(), req.payload());
  EXPECT_EQ(resp.sequence(), 0);
}

TEST_F(CallTypesTest, UnaryWithResponseSize) {
  EchoRequest req = request(10);
  req.set_response_size(100'000);
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, req, &resp);
  ASSERT_TRUE(st.ok()) << statusString(st);
  ASSERT_EQ(resp.payload().size(), 100'000u);
  EXPECT_EQ(firstPayloadMismatch(resp.payload(), 0), std::string::npos);
}

TEST_F(CallTypesTest, UnaryEmptyMessages) {
  EchoRequest req;  // zero-length gRPC message
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub_, req, &resp);
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_TRUE(resp.payload().empty());
}

TEST_F(CallTypesTest, ClientStreaming) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  EchoResponse resp;
  auto writer = stub_->ClientStream(&ctx, &resp);
  int64_t total = 0;
  for (int i = 0; i < 25; ++i) {
    EchoRequest req = request(100 * (i + 1), i);
    total += static_cast<int64_t>(req.payload().size());
    ASSERT_TRUE(writer->Write(req)) << "write " << i;
  }
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status st = writer->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(resp.requests_seen(), 25);
  EXPECT_EQ(resp.request_bytes_seen(), total);
  EXPECT_EQ(resp.payload(), makePayload(100, 0));  // the first request's payload echoed
}

TEST_F(CallTypesTest, ServerStreaming) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  EchoRequest req = request(10);
  req.set_response_count(50);
  req.set_response_size(20'000);
  auto reader = stub_->ServerStream(&ctx, req);
  EchoResponse resp;
  int n = 0;
  while (reader->Read(&resp)) {
    EXPECT_EQ(resp.sequence(), n);
    ASSERT_EQ(resp.payload().size(), 20'000u);
    EXPECT_EQ(firstPayloadMismatch(resp.payload(), 0), std::string::npos);
    ++n;
  }
  grpc::Status st = reader->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(n, 50);
}

TEST_F(CallTypesTest, BidiPingPong) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  auto stream = stub_->Bidi(&ctx);
  for (int i = 0; i < 30; ++i) {
    EchoRequest req = request(37 * i + 1, i);
    ASSERT_TRUE(stream->Write(req)) << "write " << i;
    EchoResponse resp;
    ASSERT_TRUE(stream->Read(&resp)) << "read " << i;
    EXPECT_EQ(resp.payload(), req.payload());
    EXPECT_EQ(resp.sequence(), i);
    EXPECT_EQ(resp.requests_seen(), i + 1);
  }
  ASSERT_TRUE(stream->WritesDone());
  EchoResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  grpc::Status st = stream->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
}

TEST_F(CallTypesTest, BidiSeveralResponsesPerRequest) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  auto stream = stub_->Bidi(&ctx);
  int expected_sequence = 0;
  for (int i = 0; i < 5; ++i) {
    EchoRequest req = request(64, i);
    req.set_response_count(4);
    ASSERT_TRUE(stream->Write(req));
    for (int k = 0; k < 4; ++k) {
      EchoResponse resp;
      ASSERT_TRUE(stream->Read(&resp)) << "request " << i << " response " << k;
      EXPECT_EQ(resp.sequence(), expected_sequence++);
      EXPECT_EQ(resp.payload(), req.payload());
    }
  }
  ASSERT_TRUE(stream->WritesDone());
  grpc::Status st = stream->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
}

TEST_F(CallTypesTest, ManySequentialCallsReuseOneConnection) {
  for (int i = 0; i < 200; ++i) {
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub_, request(50, i), &resp);
    ASSERT_TRUE(st.ok()) << "call " << i << ": " << statusString(st);
  }
  EXPECT_EQ(server_->stats().distinctPeers(), 1u) << "one client connection, one upstream connection";
}

}  // namespace
}  // namespace grpcscope::testsupport
