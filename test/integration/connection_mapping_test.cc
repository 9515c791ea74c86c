// One downstream connection maps to one upstream connection: N client
// connections (separate TCP connections) produce N upstream connections,
// counted by the server as distinct peers; streams of one client
// connection all go over its one upstream connection.
#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoResponse;

TEST_F(ProxyTest, NClientConnectionsMakeNUpstreamConnections) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  constexpr int kConnections = 8;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<grpcscope::test::Echo::Stub>> stubs;
  for (int i = 0; i < kConnections; ++i) {
    channels.push_back(channel());  // each with its own subchannel pool: its own TCP connection
    stubs.push_back(makeStub(channels.back()));
  }
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < kConnections; ++i) {
      EchoResponse resp;
      grpc::Status st = unaryCall(*stubs[i], request(10, i), &resp);
      ASSERT_TRUE(st.ok()) << statusString(st);
    }
  }
  EXPECT_EQ(server_->stats().distinctPeers(), static_cast<size_t>(kConnections));
}

TEST_F(ProxyTest, SharedChannelsShareOneUpstreamConnection) {
  // The control: channels that gRPC puts on one TCP connection stay on one
  // upstream connection (the proxy does not fan out).
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy());
  ChannelOptions shared;
  shared.separate_connection = false;
  std::vector<std::unique_ptr<grpcscope::test::Echo::Stub>> stubs;
  for (int i = 0; i < 4; ++i) stubs.push_back(makeStub(channel(shared)));
  for (auto& stub : stubs) {
    EchoResponse resp;
    ASSERT_TRUE(unaryCall(*stub, request(10), &resp).ok());
  }
  EXPECT_EQ(server_->stats().distinctPeers(), 1u);
}

}  // namespace
}  // namespace grpcscope::testsupport
