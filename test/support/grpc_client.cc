#include "support/grpc_client.h"

#include <atomic>

#include "support/echo_service.h"

namespace grpcscope::testsupport {

std::shared_ptr<grpc::Channel> makeChannel(const std::string& target, const ChannelOptions& options) {
  static std::atomic<int> next_id{1};
  grpc::ChannelArguments args;
  if (options.separate_connection) {
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("grpcscope.test.channel_id", next_id.fetch_add(1));
  }
  if (options.max_message_size != -1) {
    args.SetMaxReceiveMessageSize(options.max_message_size);
    args.SetMaxSendMessageSize(options.max_message_size);
  }
  for (const auto& [name, value] : options.int_args) args.SetInt(name, value);
  if (!options.credentials) return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  if (!options.ssl_target_name_override.empty()) args.SetSslTargetNameOverride(options.ssl_target_name_override);
  return grpc::CreateCustomChannel(target, options.credentials, args);
}

std::unique_ptr<grpcscope::test::Echo::Stub> makeStub(const std::shared_ptr<grpc::Channel>& channel) {
  return grpcscope::test::Echo::NewStub(channel);
}

bool waitConnected(const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds timeout) {
  return channel->WaitForConnected(deadlineFromNow(timeout));
}

std::chrono::system_clock::time_point deadlineFromNow(std::chrono::milliseconds timeout) {
  return std::chrono::system_clock::now() + timeout;
}

grpc::Status unaryCall(grpcscope::test::Echo::Stub& stub, const grpcscope::test::EchoRequest& request,
                       grpcscope::test::EchoResponse* response, std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(timeout));
  return stub.Unary(&ctx, request, response);
}

std::string statusString(const grpc::Status& status) {
  return std::string(statusCodeName(status.error_code())) + " (" + std::to_string(status.error_code()) +
         "): " + status.error_message();
}

}  // namespace grpcscope::testsupport
