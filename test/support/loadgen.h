// The closed-loop (optionally rate-capped) gRPC load generator behind
// grpcscope-loadgen. Each connection is its own channel on its own TCP
// connection (local subchannel pool + a channel argument unique to it: gRPC
// would otherwise share one connection between channels to one target). The
// connections are spread over a few completion queues, one thread each (more
// threads than cores only adds context switches). The in-flight calls ("slots") are
// spread round-robin over the connections; each slot starts its next call as
// soon as the previous one finished (closed loop), or at its scheduled time
// when --rate caps the total rate.
//
// TLS: with a CA (grpc::SslCredentials), optionally overriding the name the
// certificate is checked against. connection_per_call gives every call a
// fresh channel on its own TCP connection (connect + TLS handshake + call,
// then the channel is dropped): the handshake-rate mode. tls_resume shares
// one client session cache (grpc_ssl_session_cache_create_lru, channel
// argument GRPC_SSL_SESSION_CACHE_ARG) across all channels, so that new
// connections resume the session of an earlier one (gRPC keys the cache by
// the target name; only ticket-based resumption is supported).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "support/echo_service.h"

namespace grpcscope::testsupport {

enum class Scenario { kUnary, kServerStream, kBidiPingPong };

struct LoadOptions {
  std::string target;
  Scenario scenario = Scenario::kUnary;
  int connections = 1;
  int concurrency = 1;          // calls (bidi: streams) in flight in total
  int threads = 0;              // completion-queue threads; 0: min(connections, cores)
  int request_size = 100;       // payload bytes per request
  int response_size = 100;      // payload bytes per response
  int stream_messages = 100;    // server-stream: responses per call
  double duration_s = 10;       // 0: until SIGINT/SIGTERM
  double warmup_s = 0;          // calls finishing before this are not counted
  double rate = 0;              // operations per second in total; 0: closed loop
  bool json = false;
  // TLS when tls_ca_pem is set (the PEM of the roots to verify against).
  std::string tls_ca_pem;
  std::string tls_server_name;  // GRPC_SSL_TARGET_NAME_OVERRIDE_ARG (SNI + check)
  bool tls_resume = false;      // one shared client session cache for all channels
  // Each call on a new channel and TCP connection (unary, server-stream):
  // latency includes connect and handshake; `connections` is not used.
  bool connection_per_call = false;
};

struct LoadResult {
  double seconds = 0;           // measured window
  uint64_t operations = 0;      // unary/server-stream: calls; bidi: round trips
  uint64_t ok = 0;
  uint64_t messages = 0;        // response messages received
  uint64_t bytes = 0;           // request + response payload bytes
  std::array<uint64_t, 17> errors{};  // by grpc status code
  std::vector<uint32_t> latencies_us; // of successful operations, sorted
  // TLS with connection_per_call: successful calls whose connection's auth
  // context was read, and those of them with ssl_session_reused == "true".
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  double percentileUs(double q) const;
};

// Runs the load; stops at duration_s or at SIGINT/SIGTERM, which the caller
// must have blocked in every thread (they are taken with sigtimedwait).
// Returns false with `error` set when the target cannot be reached at all.
bool runLoad(const LoadOptions& options, LoadResult* result, std::string* error);

const char* scenarioName(Scenario scenario);

}  // namespace grpcscope::testsupport
