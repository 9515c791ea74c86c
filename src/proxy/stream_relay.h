// One relayed stream: a client stream on the downstream session paired with
// the stream grpcscope opened for it on the upstream session. Bytes wait here
// between the legs; they are consumed on the leg they came from (reopening
// its window) only when the other leg's session has taken them. That makes
// each buffer at most one stream window big, and carries backpressure from
// the slow reader back to the sender.
#pragma once

#include <cstdint>

#include "proxy/byte_queue.h"
#include "proxy/header_block.h"

namespace grpcscope {

constexpr uint32_t kNoReset = 0xffffffffu;

struct StreamRelay {
  int32_t down_id = 0;  // id on the downstream (client) session
  int32_t up_id = 0;    // id on the upstream session; 0 until submitted

  // Request direction: client -> server.
  ByteQueue to_upstream;
  HeaderBlock request_trailers;
  bool request_ended = false;         // END_STREAM received from the client
  bool upstream_deferred = false;     // upstream data provider returned DEFERRED

  // Response direction: server -> client.
  ByteQueue to_downstream;
  HeaderBlock response_trailers;
  bool response_headers_sent = false; // response HEADERS submitted downstream
  bool response_ended = false;        // END_STREAM received from the server (or synthesized)
  bool response_end_sent = false;     // the response's END_STREAM went out to the client
  bool downstream_deferred = false;
  uint32_t downstream_reset = kNoReset;  // server reset: relay after buffered bytes are out

  bool down_closed = false;
  bool up_closed = false;
  bool answered_locally = false;      // grpcscope wrote the response itself
  uint32_t client_reset = kNoReset;   // RST_STREAM code received from the client
  uint32_t server_reset = kNoReset;   // RST_STREAM code received from the server

  // Flow-control stall tracking, per hop the bytes go to (0: not blocked).
  uint64_t blocked_since_ns[2] = {0, 0};
};

}  // namespace grpcscope
