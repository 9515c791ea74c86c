// The echo service in the test process on 127.0.0.1:0 (grpc::ServerBuilder),
// so tests can read what the server observed (EchoStats) directly.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/echo_service.h"

namespace grpcscope::testsupport {

struct EchoServerOptions {
  int max_message_size = -1;  // receive and send limit; -1: gRPC's defaults (4 MiB receive)
  std::vector<std::pair<std::string, int>> int_args;  // extra channel arguments (GRPC_ARG_*)
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  // TLS (grpc::SslServerCredentials) when set; nullptr: plaintext h2c.
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

class EchoServer {
 public:
  EchoServer() : EchoServer(EchoServerOptions{}) {}
  explicit EchoServer(const EchoServerOptions& options);
  ~EchoServer();

  bool ok() const { return server_ != nullptr && port_ != 0; }
  int port() const { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  EchoStats& stats() { return service_.stats(); }
  grpc::Server* server() { return server_.get(); }

  // Graceful shutdown (GOAWAY, in-flight calls may finish until `grace`
  // passes, then they are cancelled). Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  EchoService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace grpcscope::testsupport
