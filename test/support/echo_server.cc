#include "support/echo_server.h"

namespace grpcscope::testsupport {

EchoServer::EchoServer(const EchoServerOptions& options) : host_(options.host) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.host + ":" + std::to_string(options.port),
                           options.credentials ? options.credentials : grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&service_);
  if (options.max_message_size != -1) {
    builder.SetMaxReceiveMessageSize(options.max_message_size);
    builder.SetMaxSendMessageSize(options.max_message_size);
  }
  for (const auto& [name, value] : options.int_args) builder.AddChannelArgument(name, value);
  server_ = builder.BuildAndStart();
}

EchoServer::~EchoServer() { shutdown(); }

void EchoServer::shutdown(std::chrono::milliseconds grace) {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

}  // namespace grpcscope::testsupport
