// Metadata and status relayed unchanged both ways: custom ASCII and -bin
// keys in initial and trailing metadata, grpc-status codes and messages
// (percent-encoded by gRPC on the wire), grpc-status-details-bin, and
// statuses at the end of streams (after messages and trailers-only).
#include <grpcpp/generic/generic_stub.h>

#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

std::string allBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

std::optional<std::string> find(const Metadata& md, const std::string& key) {
  auto it = md.find(key);
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

class MetadataStatusTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startServer());
    ASSERT_NO_FATAL_FAILURE(startProxy());
    channel_ = channel();
    stub_ = makeStub(channel_);
  }

  // Request metadata that the echo service copies back.
  void addEchoMetadata(grpc::ClientContext& ctx) {
    ctx.AddMetadata("x-echo-text", "hello, world; a=b");
    ctx.AddMetadata("x-echo-data-bin", allBytes());
    ctx.AddMetadata("x-echo-empty", "");
    ctx.AddMetadata("x-echo-long", std::string(4000, 'L'));
    ctx.AddMetadata("x-other", "not echoed");
  }

  void expectEchoed(grpc::ClientContext& ctx) {
    const Metadata& initial = ctx.GetServerInitialMetadata();
    const Metadata& trailing = ctx.GetServerTrailingMetadata();
    EXPECT_EQ(find(initial, "x-echo-text"), "hello, world; a=b");
    EXPECT_EQ(find(initial, "x-echo-data-bin"), allBytes());
    EXPECT_EQ(find(initial, "x-echo-empty"), "");
    EXPECT_EQ(find(initial, "x-echo-long"), std::string(4000, 'L'));
    EXPECT_FALSE(find(initial, "x-other").has_value());
    EXPECT_EQ(find(trailing, "x-echo-text-trailer"), "hello, world; a=b");
    EXPECT_EQ(find(trailing, "x-echo-data-trailer-bin"), allBytes());
    EXPECT_EQ(find(trailing, "x-echo-empty-trailer"), "");
    EXPECT_EQ(find(trailing, "x-echo-long-trailer"), std::string(4000, 'L'));
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

TEST_F(MetadataStatusTest, UnaryMetadataBothWays) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  addEchoMetadata(ctx);
  EchoRequest req = request(10);
  req.set_echo_metadata(true);
  EchoResponse resp;
  grpc::Status st = stub_->Unary(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << statusString(st);
  expectEchoed(ctx);
}

TEST_F(MetadataStatusTest, ServerStreamMetadataBothWays) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  addEchoMetadata(ctx);
  EchoRequest req = request(10);
  req.set_echo_metadata(true);
  req.set_response_count(3);
  auto reader = stub_->ServerStream(&ctx, req);
  EchoResponse resp;
  int n = 0;
  while (reader->Read(&resp)) ++n;
  grpc::Status st = reader->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(n, 3);
  expectEchoed(ctx);
}

TEST_F(MetadataStatusTest, ClientStreamMetadataBothWays) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  addEchoMetadata(ctx);
  EchoResponse resp;
  auto writer = stub_->ClientStream(&ctx, &resp);
  EchoRequest req = request(10);
  req.set_echo_metadata(true);
  ASSERT_TRUE(writer->Write(req));
  ASSERT_TRUE(writer->Write(request(20)));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status st = writer->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
  expectEchoed(ctx);
}

TEST_F(MetadataStatusTest, BidiMetadataBothWays) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  addEchoMetadata(ctx);
  auto stream = stub_->Bidi(&ctx);
  EchoRequest req = request(10);
  req.set_echo_metadata(true);
  ASSERT_TRUE(stream->Write(req));
  EchoResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_TRUE(stream->WritesDone());
  grpc::Status st = stream->Finish();
  ASSERT_TRUE(st.ok()) << statusString(st);
  expectEchoed(ctx);
}

TEST_F(MetadataStatusTest, ManyMetadataEntries) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  for (int i = 0; i < 100; ++i) ctx.AddMetadata("x-echo-k" + std::to_string(i), "v" + std::to_string(i));
  EchoRequest req = request(10);
  req.set_echo_metadata(true);
  EchoResponse resp;
  grpc::Status st = stub_->Unary(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << statusString(st);
  for (int i = 0; i < 100; ++i) {
    std::string k = "x-echo-k" + std::to_string(i);
    EXPECT_EQ(find(ctx.GetServerInitialMetadata(), k), "v" + std::to_string(i)) << k;
    EXPECT_EQ(find(ctx.GetServerTrailingMetadata(), k + "-trailer"), "v" + std::to_string(i)) << k;
  }
}

TEST_F(MetadataStatusTest, EveryNonOkStatusCodeWithMessage) {
  // Characters gRPC percent-encodes in grpc-message, and non-ASCII.
  const std::string message = "failed: 100% \"quoted\" \xc3\xbcnic\xc3\xb6" "de \x01 end";
  for (int code = 1; code <= 16; ++code) {
    EchoRequest req = request(10);
    req.set_status_code(code);
    req.set_status_message(message + " #" + std::to_string(code));
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub_, req, &resp);
    EXPECT_EQ(st.error_code(), code) << statusString(st);
    EXPECT_EQ(st.error_message(), message + " #" + std::to_string(code));
  }
}

TEST_F(MetadataStatusTest, StatusDetailsBin) {
  EchoRequest req = request(10);
  req.set_status_code(grpc::StatusCode::FAILED_PRECONDITION);
  req.set_status_message("see details");
  std::string details = allBytes() + allBytes();
  req.set_status_details(details);
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  EchoResponse resp;
  grpc::Status st = stub_->Unary(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(st.error_message(), "see details");
  EXPECT_EQ(st.error_details(), details);
  EXPECT_EQ(find(ctx.GetServerTrailingMetadata(), "grpc-status-details-bin"), details);
}

TEST_F(MetadataStatusTest, ServerStreamFailsAfterMessages) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  EchoRequest req = request(10);
  req.set_response_count(10);
  req.set_fail_after(3);
  req.set_status_code(grpc::StatusCode::RESOURCE_EXHAUSTED);
  req.set_status_message("quota");
  req.set_status_details("detail-bytes");
  auto reader = stub_->ServerStream(&ctx, req);
  EchoResponse resp;
  int n = 0;
  while (reader->Read(&resp)) ++n;
  grpc::Status st = reader->Finish();
  EXPECT_EQ(n, 3);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << statusString(st);
  EXPECT_EQ(st.error_message(), "quota");
  EXPECT_EQ(st.error_details(), "detail-bytes");
}

TEST_F(MetadataStatusTest, TrailersOnlyStatusOnStreams) {
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(20s)));
    EchoRequest req = request(10);
    req.set_status_code(grpc::StatusCode::NOT_FOUND);
    req.set_status_message("nothing here");
    auto reader = stub_->ServerStream(&ctx, req);
    EchoResponse resp;
    EXPECT_FALSE(reader->Read(&resp));
    grpc::Status st = reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << statusString(st);
    EXPECT_EQ(st.error_message(), "nothing here");
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(20s)));
    auto stream = stub_->Bidi(&ctx);
    EchoRequest req = request(10);
    req.set_status_code(grpc::StatusCode::PERMISSION_DENIED);
    req.set_status_message("no");
    ASSERT_TRUE(stream->Write(req));
    EchoResponse resp;
    EXPECT_FALSE(stream->Read(&resp));
    grpc::Status st = stream->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << statusString(st);
    EXPECT_EQ(st.error_message(), "no");
  }
}

TEST_F(MetadataStatusTest, UnknownMethodIsUnimplemented) {
  // The proxy does not know the service: the server's answer comes through.
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(20s)));
  grpc::Slice empty_message{std::string()};
  grpc::ByteBuffer request_buffer(&empty_message, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/grpcscope.test.Echo/NoSuchMethod", grpc::StubOptions(), &request_buffer, &response,
                    [&](grpc::Status s) {
                      std::lock_guard lock(mu);
                      status = s;
                      done = true;
                      cv.notify_all();
                    });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, scaled(20s), [&] { return done; }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << statusString(status);
}

}  // namespace
}  // namespace grpcscope::testsupport
