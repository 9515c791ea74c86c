// nghttp2 plumbing for the relay: the callback table (static, capture-less,
// noexcept trampolines that cast user_data back to the Leg) and the session
// options (flow control by hand, PING ACKs by hand, flood limits).
#pragma once

#include <nghttp2/nghttp2.h>

#include <grpcscope/config.h>

namespace grpcscope {

// Built once per process; shared by every session.
const nghttp2_session_callbacks* relayCallbacks();

// Options for one session. Caller deletes with nghttp2_option_del.
nghttp2_option* makeSessionOptions(const LimitConfig& limits, bool server);

// nghttp2 data provider read callback for relayed bodies (source.ptr: StreamRelay).
ssize_t relayDataRead(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                      uint32_t* data_flags, nghttp2_data_source* source, void* user_data) noexcept;

}  // namespace grpcscope
