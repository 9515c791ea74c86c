// gRPC client helpers for the integration tests.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "echo.grpc.pb.h"

namespace grpcscope::testsupport {

struct ChannelOptions {
  // gRPC C++ shares one TCP connection between channels to the same target
  // unless each has GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL and a channel argument
  // unique to it: separate_connection gives the channel both.
  bool separate_connection = true;
  int max_message_size = -1;  // -1: gRPC's defaults (4 MiB receive)
  std::vector<std::pair<std::string, int>> int_args;
  // TLS: channel credentials (e.g. grpc::SslCredentials); nullptr: plaintext
  // h2c. Channels meant to share one connection must share one credentials
  // object too: gRPC tells subchannels apart by the credentials' identity.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // With credentials: the name the server certificate must match (and the
  // :authority) instead of the target's host; empty: the target's host.
  std::string ssl_target_name_override;
};

std::shared_ptr<grpc::Channel> makeChannel(const std::string& target, const ChannelOptions& options = {});
std::unique_ptr<grpcscope::test::Echo::Stub> makeStub(const std::shared_ptr<grpc::Channel>& channel);
bool waitConnected(const std::shared_ptr<grpc::Channel>& channel,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// A deadline `timeout` from now, for ClientContext::set_deadline.
std::chrono::system_clock::time_point deadlineFromNow(std::chrono::milliseconds timeout);

// One unary call with a deadline; returns the status, fills `response`.
grpc::Status unaryCall(grpcscope::test::Echo::Stub& stub, const grpcscope::test::EchoRequest& request,
                       grpcscope::test::EchoResponse* response,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

std::string statusString(const grpc::Status& status);  // "UNAVAILABLE (14): message"

}  // namespace grpcscope::testsupport
