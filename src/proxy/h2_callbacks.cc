#include "proxy/h2_callbacks.h"

#include "proxy/connection_relay.h"

namespace grpcscope {
namespace {

using Leg = ConnectionRelay::Leg;

Leg& legOf(void* user_data) { return *static_cast<Leg*>(user_data); }

int onBeginHeaders(nghttp2_session*, const nghttp2_frame* f, void* ud) noexcept {
  return legOf(ud).relay_->onBeginHeaders(legOf(ud), f);
}
int onHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl, const uint8_t* v,
             size_t vl, uint8_t flags, void* ud) noexcept {
  return legOf(ud).relay_->onHeader(legOf(ud), f, n, nl, v, vl, flags);
}
int onFrameRecv(nghttp2_session*, const nghttp2_frame* f, void* ud) noexcept {
  return legOf(ud).relay_->onFrameRecv(legOf(ud), f);
}
int onDataChunkRecv(nghttp2_session*, uint8_t flags, int32_t id, const uint8_t* d, size_t len,
                    void* ud) noexcept {
  return legOf(ud).relay_->onDataChunkRecv(legOf(ud), flags, id, d, len);
}
int onStreamClose(nghttp2_session*, int32_t id, uint32_t code, void* ud) noexcept {
  return legOf(ud).relay_->onStreamClose(legOf(ud), id, code);
}
int onFrameSend(nghttp2_session*, const nghttp2_frame* f, void* ud) noexcept {
  return legOf(ud).relay_->onFrameSend(legOf(ud), f);
}
int onFrameNotSend(nghttp2_session*, const nghttp2_frame* f, int err, void* ud) noexcept {
  return legOf(ud).relay_->onFrameNotSend(legOf(ud), f, err);
}
int onInvalidFrameRecv(nghttp2_session*, const nghttp2_frame* f, int err, void* ud) noexcept {
  return legOf(ud).relay_->onInvalidFrameRecv(legOf(ud), f, err);
}

nghttp2_session_callbacks* buildCallbacks() {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunkRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, onFrameSend);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, onFrameNotSend);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, onInvalidFrameRecv);
  return cbs;
}

}  // namespace

const nghttp2_session_callbacks* relayCallbacks() {
  static nghttp2_session_callbacks* callbacks = buildCallbacks();
  return callbacks;
}

ssize_t relayDataRead(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                      uint32_t* data_flags, nghttp2_data_source* source, void* user_data) noexcept {
  Leg& leg = legOf(user_data);
  return leg.relay_->readForLeg(leg, stream_id, buf, length, data_flags,
                                static_cast<StreamRelay*>(source->ptr));
}

nghttp2_option* makeSessionOptions(const LimitConfig& limits, bool server) {
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows reopen only when the other leg took the bytes (docs/architecture.md "The backpressure chain").
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // PINGs are relayed end to end; the far peer's ACK is relayed back.
  nghttp2_option_set_no_auto_ping_ack(opt, 1);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_option_set_max_settings(opt, limits.max_settings_entries);
  nghttp2_option_set_max_outbound_ack(opt, limits.max_outbound_ack);
  if (server) {
    // CVE-2023-44487 (rapid reset): a token bucket over incoming RST_STREAM.
    // The relay's own guard trips first (with GOAWAY ENHANCE_YOUR_CALM); nghttp2's,
    // at twice the budget, is the backstop.
    nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * limits.reset_burst, 2ull * limits.reset_rate);
  }
  return opt;
}

}  // namespace grpcscope
