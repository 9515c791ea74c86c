// grpcscope-echo-server: the echo service on a TCP port, for the demo, the
// benchmark and tests that need the server in another process.
//
//   grpcscope-echo-server --listen HOST:PORT [--max-concurrent-streams N]
//                         [--max-message-size BYTES] [--max-connection-age-ms MS]
//                         [--tls-cert FILE --tls-key FILE]
//
// With --tls-cert/--tls-key (PEM) it serves gRPC over TLS with that
// certificate (no client certificates requested).
//
// Prints "echo server listening on HOST:PORT" (the bound port) once, then
// serves until SIGTERM/SIGINT and exits 0 after a graceful shutdown.
#include <grpcpp/grpcpp.h>

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "support/echo_service.h"

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "grpcscope-echo-server: " << problem
            << " (usage: --listen HOST:PORT [--max-concurrent-streams N] [--max-message-size BYTES]"
               " [--max-connection-age-ms MS] [--tls-cert FILE --tls-key FILE])\n";
  std::exit(2);
}

long parseNumber(std::string_view flag, const std::string& value) {
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < 0) usage(std::string(flag) + ": not a number: " + value);
  return n;
}

std::string readPem(std::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage(std::string(flag) + ": cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  long max_streams = -1;
  long max_message = 64L << 20;
  long max_age_ms = -1;
  std::string tls_cert;
  std::string tls_key;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--listen") {
      listen = value();
    } else if (arg == "--max-concurrent-streams") {
      max_streams = parseNumber(arg, value());
    } else if (arg == "--max-message-size") {
      max_message = parseNumber(arg, value());
    } else if (arg == "--max-connection-age-ms") {
      max_age_ms = parseNumber(arg, value());
    } else if (arg == "--tls-cert") {
      tls_cert = readPem(arg, value());
    } else if (arg == "--tls-key") {
      tls_key = readPem(arg, value());
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else {
      usage("unknown flag " + std::string(arg));
    }
  }
  if (listen.empty()) usage("--listen is required");
  if (tls_cert.empty() != tls_key.empty()) usage("--tls-cert and --tls-key go together");
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) usage("--listen: expected HOST:PORT, got " + listen);
  std::string host = listen.substr(0, colon);

  // Signals are taken by sigwait() below; block them before gRPC starts threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grpcscope::testsupport::EchoService service(/*record_peers=*/false);
  grpc::ServerBuilder builder;
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_key_cert_pairs.push_back({tls_key, tls_cert});
    credentials = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(listen, credentials, &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(max_message));
  builder.SetMaxSendMessageSize(static_cast<int>(max_message));
  if (max_streams >= 0) builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, static_cast<int>(max_streams));
  if (max_age_ms >= 0) builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, static_cast<int>(max_age_ms));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpcscope-echo-server: cannot listen on " << listen << "\n";
    return 1;
  }
  std::printf("echo server listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}
