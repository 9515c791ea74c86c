// One RPC as grpcscope saw it: what /api/events streams when the call ends.
// Only metadata that describes the call is kept (method, authority, content
// type, user agent, encodings, deadline, status); never payload bytes and
// never credential-bearing metadata (authorization, cookies, ...).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace grpcscope {

struct CallRecord {
  uint32_t worker = 0;
  uint64_t connection = 0;
  int32_t stream_id = 0;            // downstream stream id
  int32_t upstream_stream_id = 0;   // 0: never reached the server
  std::string peer;                 // client address
  // Texts from the peer: printable ASCII, at most 256 bytes each (label_bounds.h).
  std::string method;               // "pkg.Service/Method" (":path" without the leading slash)
  std::string authority;            // without any userinfo ("user:password@")
  std::string content_type;
  std::string user_agent;
  std::string grpc_encoding;
  std::string grpc_accept_encoding;
  std::string grpc_timeout;         // as sent, e.g. "100m"
  int status = -1;                  // grpc-status the client got (-1 until known)
  std::string status_source;        // "trailers", "reset", "stream_close"
  std::string grpc_message;         // at most kMaxMessage bytes
  bool answered_by_proxy = false;   // grpcscope answered (the upstream was unavailable)
  bool reset = false;               // a RST_STREAM was seen on the client hop
  uint32_t reset_code = 0;          // ... its HTTP/2 code, as received (any 32-bit value)
  std::string reset_by;             // "client", "server", "proxy" (who sent the reset the client saw)
  std::array<uint64_t, 2> messages{};        // request, response
  std::array<uint64_t, 2> message_bytes{};   // bodies
  std::array<uint64_t, 2> compressed_messages{};
  uint64_t stalls = 0;
  uint64_t stall_ns = 0;

  // uv_hrtime() instants; 0: did not happen.
  uint64_t start_ns = 0;                    // request HEADERS from the client
  uint64_t request_headers_upstream_ns = 0;  // ... sent to the server
  uint64_t first_request_byte_upstream_ns = 0;
  uint64_t request_end_ns = 0;              // client's END_STREAM received
  uint64_t request_end_upstream_ns = 0;     // ... relayed to the server
  uint64_t response_headers_upstream_ns = 0; // server's response HEADERS received
  uint64_t response_headers_ns = 0;          // ... sent to the client
  uint64_t first_response_message_ns = 0;    // first response message fully received
  uint64_t last_response_message_ns = 0;
  uint64_t trailers_upstream_ns = 0;         // server's trailers received
  uint64_t trailers_ns = 0;                  // trailers sent to the client
  uint64_t end_ns = 0;                       // the client stream closed

  static constexpr size_t kMaxMessage = 256;

  uint64_t durationNs() const { return end_ns > start_ns ? end_ns - start_ns : 0; }
  // Time inside grpcscope: header, end-of-request and trailer forwarding delays.
  uint64_t proxyNs() const;
  // Request headers out -> trailers back: server plus network time; 0 when unknown.
  uint64_t upstreamNs() const;

  // The /api/events object. wall_time_ms: the end of the call, Unix ms.
  nlohmann::json toJson(int64_t wall_time_ms) const;
};

}  // namespace grpcscope
