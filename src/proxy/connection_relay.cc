// ConnectionRelay lifecycle: session start, the flush loop, timers and
// teardown. The upstream connection lives in relay_upstream.cc, streams in
// relay_streams.cc, control frames in relay_control.cc.
#include "proxy/connection_relay.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "proxy/h2_callbacks.h"
#include "proxy/tcp_transport.h"
#include "proxy/tls_transport.h"

namespace grpcscope {
namespace {

uint64_t nowNs() { return uv_hrtime(); }
uint64_t msToNs(uint64_t ms) { return ms * 1'000'000; }

}  // namespace

ConnectionRef ConnectionRelay::Leg::ref() const {
  return ConnectionRef{relay_->ctx_.worker_id, relay_->id_, hop_};
}

void ConnectionRelay::Leg::onTransportData(const uint8_t* data, size_t len) { relay_->onLegData(*this, data, len); }
void ConnectionRelay::Leg::onTransportEnd(bool reset, std::string_view cause) {
  relay_->onLegEnd(*this, reset, cause);
}
void ConnectionRelay::Leg::onTransportDrained() { relay_->onLegDrained(*this); }
void ConnectionRelay::Leg::onTransportClosed() { relay_->onLegClosed(*this); }

ConnectionRelay::ConnectionRelay(RelayContext& ctx, uint64_t id, std::unique_ptr<Transport> downstream)
    : ctx_(ctx), config_(*ctx.config), observer_(*ctx.observer), id_(id), dns_req_{} {
  downstream_.transport = std::move(downstream);
  downstream_.transport->setHandler(&downstream_);
  downstream_.transport_open = true;
  uv_timer_init(ctx_.loop, &timer_);
  timer_.data = this;
  timer_open_ = true;
  dns_req_.data = this;
}

ConnectionRelay::~ConnectionRelay() {
  if (downstream_.session) nghttp2_session_del(downstream_.session);
  if (upstream_.session) nghttp2_session_del(upstream_.session);
}

LiveConnectionFacts ConnectionRelay::liveFacts() const {
  LiveConnectionFacts facts;
  facts.id = id_;
  facts.buffered_bytes = bufferedBytes();
  for (const Leg* leg : {&downstream_, &upstream_}) {
    LiveLegFacts& out = facts.legs[leg->hop_ == Hop::kDownstream ? 0 : 1];
    out.open = leg->transport_open;
    if (leg->session) {
      out.remote_window = nghttp2_session_get_remote_window_size(leg->session);
      out.local_window = nghttp2_session_get_local_window_size(leg->session);
    }
    out.open_streams = static_cast<uint32_t>(streams_.size());
    out.pending_output = leg->transport ? leg->transport->pendingBytes() : 0;
    if (leg->session) busiestStreams(*leg, &out);
  }
  return facts;
}

void ConnectionRelay::busiestStreams(const Leg& leg, LiveLegFacts* out) const {
  bool down = leg.hop_ == Hop::kDownstream;
  auto busier = [](const LiveStreamWindow& a, const LiveStreamWindow& b) {
    return a.queued != b.queued ? a.queued > b.queued : a.send_window < b.send_window;
  };
  for (const auto& [id, s] : streams_) {
    (void)id;
    int32_t stream_id = down ? s->down_id : s->up_id;
    if (stream_id <= 0) continue;
    LiveStreamWindow w;
    w.stream_id = stream_id;
    w.send_window = std::max(0, nghttp2_session_get_stream_remote_window_size(leg.session, stream_id));
    w.queued = down ? s->to_downstream.size() : s->to_upstream.size();
    // Insertion into the small sorted array: at most kBusiestStreams kept.
    size_t n = out->busiest_count;
    size_t at = n;
    while (at > 0 && busier(w, out->busiest[at - 1])) --at;
    if (at >= LiveLegFacts::kBusiestStreams) continue;
    for (size_t i = std::min(n, LiveLegFacts::kBusiestStreams - 1); i > at; --i) out->busiest[i] = out->busiest[i - 1];
    out->busiest[at] = w;
    if (n < LiveLegFacts::kBusiestStreams) out->busiest_count = static_cast<uint8_t>(n + 1);
  }
}

void ConnectionRelay::start() {
  uint64_t now = nowNs();
  ConnectionOpenEvent ev;
  ev.conn = downstream_.ref();
  ev.at_ns = now;
  ev.peer = downstream_.transport->peerAddress();
  ev.local = downstream_.transport->localAddress();
  ev.fd = downstream_.transport->fd();
  observer_.onConnectionOpen(ev);
  if (config_.timeouts.handshake_ms > 0) handshake_deadline_ = now + msToNs(config_.timeouts.handshake_ms);
  connectUpstream();
  armTimer();
  flush();
}

void ConnectionRelay::startDownstream(const nghttp2_settings_entry* iv, size_t niv) {
  nghttp2_session_server_new2(&downstream_.session, relayCallbacks(), &downstream_, ctx_.server_options);
  nghttp2_submit_settings(downstream_.session, NGHTTP2_FLAG_NONE, iv, niv);
  for (size_t i = 0; i < niv; ++i) {
    if (static_cast<size_t>(iv[i].settings_id) < downstream_.offered.size()) {
      downstream_.offered[iv[i].settings_id] = iv[i].value;
      downstream_.offered_set[iv[i].settings_id] = true;
    }
  }
  if (config_.timeouts.idle_ms > 0) idle_deadline_ = nowNs() + msToNs(config_.timeouts.idle_ms);
  if (draining_) submitGoaway(downstream_, NGHTTP2_NO_ERROR, "");
  // Reading starts from updateReading() at the end of the flush: this may run
  // inside an upstream nghttp2 callback, and a TLS transport can hand over
  // buffered input synchronously (re-entering nghttp2 from its own callback: docs/architecture.md "One flush per loop callback").
  armTimer();
}

// ---------------------------------------------------------------------------
// Bytes in, frames out

// The server's bytes reach nghttp2 through the shutdown-notice filter.
class ConnectionRelay::UpstreamInput final : public ShutdownNoticeFilter::Sink {
 public:
  explicit UpstreamInput(ConnectionRelay* relay) : relay_(relay) {}
  bool pass(const uint8_t* data, size_t len) override { return relay_->receive(relay_->upstream_, data, len); }
  void notice(std::string_view frame, std::string_view debug_data) override {
    relay_->onShutdownNotice(frame, debug_data);
  }

 private:
  ConnectionRelay* relay_;
};

void ConnectionRelay::onLegData(Leg& leg, const uint8_t* data, size_t len) {
  if (!leg.session) return;
  if (leg.hop_ == Hop::kUpstream) {
    UpstreamInput sink(this);
    notice_filter_.feed(data, len, sink);
  } else {
    receive(leg, data, len);
  }
  flush();
}

// Hands bytes to the leg's session; false when it found a connection error.
bool ConnectionRelay::receive(Leg& leg, const uint8_t* data, size_t len) {
  if (!leg.session) return false;
  ssize_t rv = nghttp2_session_mem_recv(leg.session, data, len);
  if (rv >= 0) return true;
  spdlog::debug("[W{}][C{}] {} session error: {}", ctx_.worker_id, id_, hopName(leg.hop_),
                nghttp2_strerror(static_cast<int>(rv)));
  switch (rv) {
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
      failConnection(leg, NGHTTP2_PROTOCOL_ERROR, "bad_preface", CloseReason::kProtocolError);
      break;
    case NGHTTP2_ERR_FLOODED:
      // Its queue of SETTINGS and PING ACKs passed --max-outbound-ack.
      failConnection(leg, NGHTTP2_ENHANCE_YOUR_CALM, "flood", CloseReason::kFlood);
      break;
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
      // CVE-2024-27316: a header block split into endless CONTINUATION frames.
      failConnection(leg, NGHTTP2_ENHANCE_YOUR_CALM, "continuation_flood", CloseReason::kFlood);
      break;
    case NGHTTP2_ERR_CALLBACK_FAILURE:
      // Our callbacks fail only for an oversized header list.
      failConnection(leg, NGHTTP2_ENHANCE_YOUR_CALM, "header_list_too_large", CloseReason::kFlood);
      break;
    default:
      failConnection(leg, NGHTTP2_PROTOCOL_ERROR, "protocol", CloseReason::kProtocolError);
      break;
  }
  return false;
}

void ConnectionRelay::failConnection(Leg& leg, uint32_t error_code, std::string_view kind, CloseReason reason) {
  if (leg.violation_reported) return;
  leg.violation_reported = true;
  ViolationEvent ev;
  ev.conn = leg.ref();
  ev.kind = kind;
  ev.error_code = error_code;
  observer_.onViolation(ev);
  spdlog::info("[W{}][C{}] {} connection closed: {} (GOAWAY code {})", ctx_.worker_id, id_, hopName(leg.hop_),
               kind, error_code);
  if (leg.hop_ == Hop::kDownstream) {
    down_close_reason_ = reason;
    down_close_detail_ = std::string(kind);
  } else {
    up_close_reason_ = reason;
    up_close_detail_ = std::string(kind);
  }
  if (leg.session) {
    if (leg.goaway_sent_code == kNoReset) {
      if (nghttp2_session_terminate_session2(leg.session, nghttp2_session_get_last_proc_stream_id(leg.session),
                                             error_code) == 0) {
        ++leg.goaways_unsent;
      }
      leg.goaway_sent_code = error_code;
    }
    // Nothing more is read from this peer; the GOAWAY goes out with the next flush.
    leg.transport->stopReading();
    if (leg.hop_ == Hop::kUpstream && state_ == State::kRelaying) {
      upstream_gone_ = true;
      upstream_failure_ = "upstream " + config_.upstream.toString() + ": protocol error (" + std::string(kind) + ")";
      failUpstreamStreams(upstream_failure_);
      submitGoaway(downstream_, NGHTTP2_NO_ERROR, "");
    }
  } else {
    closeLeg(leg, false, reason, kind);
  }
}

void ConnectionRelay::onLegEnd(Leg& leg, bool reset, std::string_view cause) {
  leg.ended = true;
  CloseReason reason = reset ? CloseReason::kPeerReset : CloseReason::kPeerClosed;
  if (leg.hop_ == Hop::kDownstream) {
    // The client is gone: the server sees its connection close too, after
    // whatever was already queued for it (a GOAWAY the client sent, say).
    closeLeg(downstream_, false, reason, cause);
    closeLeg(upstream_, true, CloseReason::kOtherLegClosed, "client connection closed");
  } else if (state_ == State::kConnecting || state_ == State::kUpstreamHandshake) {
    auto* tls = dynamic_cast<TlsTransport*>(upstream_.transport.get());
    if (tls && tls->facts().client_cert_requested && !tls->facts().client_cert_configured) {
      // TLS 1.3: the server checks our certificate after our side of the
      // handshake is done; gRPC servers then close without an alert.
      onUpstreamFailed("upstream TLS: the server requires a client certificate and none is configured "
                       "(--upstream-cert, --upstream-key); it closed the connection (" +
                           config_.upstream.toString() + ")",
                       true);
    } else if (cause.substr(0, 4) == "TLS:") {
      // "upstream TLS: certificate verify failed: ... (127.0.0.1:50051)"
      onUpstreamFailed("upstream " + std::string(cause) + " (" + config_.upstream.toString() + ")", true);
    } else {
      onUpstreamFailed("upstream " + config_.upstream.toString() +
                           (reset ? ": connection reset during the HTTP/2 handshake: " + std::string(cause)
                                  : std::string(": closed the connection during the HTTP/2 handshake")),
                       true);
    }
  } else if (state_ == State::kRelaying) {
    upstream_gone_ = true;
    upstream_failure_ = "upstream " + config_.upstream.toString() +
                        (reset ? ": connection reset: " + std::string(cause) : std::string(": connection closed"));
    closeLeg(upstream_, false, reason, cause);
    failUpstreamStreams(upstream_failure_);
    submitGoaway(downstream_, NGHTTP2_NO_ERROR, "");
  } else {
    closeLeg(leg, false, reason, cause);
  }
  flush();
}

void ConnectionRelay::closeLeg(Leg& leg, bool graceful, CloseReason reason, std::string_view detail) {
  if (!leg.transport_open || leg.transport->closing()) return;
  if (leg.hop_ == Hop::kDownstream) {
    if (down_close_detail_.empty()) {
      down_close_reason_ = reason;
      down_close_detail_ = std::string(detail);
    }
  } else if (up_close_detail_.empty()) {
    up_close_reason_ = reason;
    up_close_detail_ = std::string(detail);
  }
  leg.transport->close(graceful);
}

// A write completed: relayed PINGs whose bytes it carried are on their way
// now; their round trip is timed from here (not from nghttp2's serializing,
// which may sit behind other output queued for the socket).
void ConnectionRelay::onLegDrained(Leg& leg) {
  if (!leg.pings.empty() && leg.transport) {
    uint64_t written = leg.transport->bytesWritten();
    uint64_t now = 0;
    for (auto& p : leg.pings) {
      if (p.queued && !p.written && written >= p.wire_end) {
        if (now == 0) now = nowNs();
        p.written = true;
        p.sent_ns = now;
      }
    }
  }
  flush();
}

void ConnectionRelay::onLegClosed(Leg& leg) {
  leg.transport_open = false;
  bool down = leg.hop_ == Hop::kDownstream;
  // An upstream that never connected is reported as a failed attempt, not a connection.
  if (down || leg.session) {
    ConnectionCloseEvent ev;
    ev.conn = leg.ref();
    ev.at_ns = nowNs();
    ev.reason = down ? down_close_reason_ : up_close_reason_;
    ev.detail = down ? down_close_detail_ : up_close_detail_;
    ev.streams = leg.streams;
    ev.bytes_in = leg.transport->bytesIn();
    ev.bytes_out = leg.transport->bytesOut();
    observer_.onConnectionClose(ev);
  }
  if (down) {
    // Whatever happens next, nothing more goes to the client.
    closeLeg(upstream_, true, CloseReason::kOtherLegClosed, "client connection closed");
    if (dns_pending_) uv_cancel(reinterpret_cast<uv_req_t*>(&dns_req_));
    // A connect still in progress ends without a verdict: free the probe slot.
    ctx_.backoff->abandon(&backoff_ticket_);
    state_ = State::kClosing;
  }
  maybeRetire();
}

void ConnectionRelay::flush() {
  if (in_flush_) {
    flush_again_ = true;
    return;
  }
  in_flush_ = true;
  for (int round = 0; round < 64; ++round) {
    flush_again_ = false;
    if (goaway_after_answer_) {
      goaway_after_answer_ = false;
      submitGoaway(downstream_, NGHTTP2_NO_ERROR, "");
    }
    bool down = pump(downstream_);
    bool up = pump(upstream_);
    if (down || up || flush_again_) continue;
    if (downstream_.transport_open) downstream_.transport->flush();
    if (upstream_.transport_open) upstream_.transport->flush();
    checkFlowBlocked();
    checkFinished();
    // May hand over input a transport held back (TLS) synchronously: that
    // input's frames are flushed by the next round.
    updateReading();
    if (!flush_again_) break;
  }
  in_flush_ = false;
}

bool ConnectionRelay::pump(Leg& leg, bool past_high_water) {
  if (!leg.session || !leg.transport_open || leg.transport->closing()) return false;
  bool any = false;
  while (past_high_water || leg.transport->pendingBytes() < config_.limits.write_high_water) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(leg.session, &data);
    if (n < 0) {
      spdlog::warn("[W{}][C{}] {} send failed: {}", ctx_.worker_id, id_, hopName(leg.hop_),
                   nghttp2_strerror(static_cast<int>(n)));
      closeLeg(leg, false, CloseReason::kProtocolError, nghttp2_strerror(static_cast<int>(n)));
      return any;
    }
    if (n == 0) break;
    leg.transport->queue(data, static_cast<size_t>(n));
    for (auto& p : leg.pings) {
      if (!p.queued && p.sent_ns != 0) {  // serialized in this chunk (onFrameSend)
        p.queued = true;
        p.wire_end = leg.transport->bytesQueued();
      }
    }
    any = true;
  }
  return any;
}

void ConnectionRelay::updateReading() {
  auto can_read = [&](Leg& leg, Leg& peer) {
    if (!leg.session || !leg.transport_open || leg.transport->closing() || leg.ended) return false;
    if (leg.goaway_sent_code != kNoReset && leg.goaway_sent_code != NGHTTP2_NO_ERROR) return false;
    // Backpressure: stop reading one peer while the other's socket is full.
    if (peer.transport_open && !peer.transport->closing() &&
        peer.transport->pendingBytes() >= config_.limits.write_high_water) {
      return false;
    }
    return true;
  };
  bool down_ok = (state_ == State::kRelaying || state_ == State::kUpstreamFailed) && can_read(downstream_, upstream_);
  if (downstream_.transport_open && !downstream_.transport->closing()) {
    if (down_ok) {
      downstream_.transport->startReading();
    } else if (downstream_.session) {
      downstream_.transport->stopReading();
    }
  }
  if (upstream_.transport_open && !upstream_.transport->closing() && upstream_.session) {
    if (can_read(upstream_, downstream_)) {
      upstream_.transport->startReading();
    } else {
      upstream_.transport->stopReading();
    }
  }
}

void ConnectionRelay::checkFinished() {
  // A session that neither wants to read nor write is done (GOAWAY exchanged
  // and no stream left, or a connection error sent): close its socket once
  // the last bytes are out.
  Leg& down = downstream_;
  Leg& up = upstream_;
  if (up.session && up.transport_open && !up.transport->closing() && !nghttp2_session_want_read(up.session) &&
      !nghttp2_session_want_write(up.session)) {
    closeLeg(up, true, up_close_detail_.empty() ? CloseReason::kPeerClosed : up_close_reason_,
             up_close_detail_.empty() ? "GOAWAY exchanged" : up_close_detail_);
    if (state_ == State::kRelaying && !upstream_gone_) {
      upstream_gone_ = true;
      upstream_failure_ = "upstream " + config_.upstream.toString() + ": connection closed";
      failUpstreamStreams(upstream_failure_);
      submitGoaway(downstream_, NGHTTP2_NO_ERROR, "");
      flush_again_ = true;
    }
  }
  if (down.session && down.transport_open && !down.transport->closing() && !nghttp2_session_want_read(down.session) &&
      !nghttp2_session_want_write(down.session)) {
    closeLeg(down, true, down_close_detail_.empty() ? CloseReason::kPeerClosed : down_close_reason_,
             down_close_detail_.empty() ? "GOAWAY exchanged" : down_close_detail_);
  }
  if (!down.transport_open || down.transport->closing()) {
    if (up.transport_open && !up.transport->closing()) {
      if (draining_ && up.session) {
        submitGoaway(up, NGHTTP2_NO_ERROR, "");
        pump(up);
      }
      closeLeg(up, true, draining_ ? CloseReason::kShutdown : CloseReason::kOtherLegClosed,
               "client connection closed");
    }
  }
}

// ---------------------------------------------------------------------------
// Timers and teardown

void ConnectionRelay::armTimer() {
  if (!timer_open_) return;
  uint64_t next = 0;
  for (uint64_t d : {handshake_deadline_, upstream_deadline_, idle_deadline_, linger_deadline_}) {
    if (d != 0 && (next == 0 || d < next)) next = d;
  }
  if (next == 0) {
    uv_timer_stop(&timer_);
    return;
  }
  uint64_t now = nowNs();
  uint64_t ms = next > now ? (next - now + 999'999) / 1'000'000 : 0;
  uv_timer_start(&timer_, &ConnectionRelay::onTimer, ms, 0);
}

void ConnectionRelay::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<ConnectionRelay*>(timer->data);
  uint64_t now = nowNs();
  if (self->upstream_deadline_ && now >= self->upstream_deadline_) {
    self->upstream_deadline_ = 0;
    if (self->state_ == State::kConnecting || self->state_ == State::kUpstreamHandshake) {
      self->onUpstreamFailed("upstream " + self->config_.upstream.toString() + ": connect timed out after " +
                                 std::to_string(self->config_.timeouts.upstream_connect_ms) + " ms",
                             true);
    }
  }
  if (self->handshake_deadline_ && now >= self->handshake_deadline_) {
    self->handshake_deadline_ = 0;
    if (!self->client_preface_seen_) {
      spdlog::info("[W{}][C{}] client sent no HTTP/2 preface within {} ms; closing", self->ctx_.worker_id, self->id_,
                   self->config_.timeouts.handshake_ms);
      self->down_close_reason_ = CloseReason::kTimeout;
      self->down_close_detail_ = "handshake timeout";
      if (self->downstream_.session) {
        self->submitGoaway(self->downstream_, NGHTTP2_NO_ERROR, "handshake timeout");
        self->downstream_.transport->stopReading();
        self->pump(self->downstream_);
        self->closeLeg(self->downstream_, true, CloseReason::kTimeout, "handshake timeout");
      } else {
        self->closeLeg(self->downstream_, false, CloseReason::kTimeout, "handshake timeout");
      }
    }
  }
  if (self->idle_deadline_ && now >= self->idle_deadline_) {
    self->idle_deadline_ = 0;
    if (self->streams_.empty() && self->downstream_.session) {
      spdlog::debug("[W{}][C{}] idle for {} ms; closing", self->ctx_.worker_id, self->id_,
                    self->config_.timeouts.idle_ms);
      self->down_close_reason_ = CloseReason::kTimeout;
      self->down_close_detail_ = "idle timeout";
      self->submitGoaway(self->downstream_, NGHTTP2_NO_ERROR, "idle timeout");
      if (self->upstream_.session) self->submitGoaway(self->upstream_, NGHTTP2_NO_ERROR, "");
    }
  }
  if (self->linger_deadline_ && now >= self->linger_deadline_) {
    self->linger_deadline_ = 0;
    if (self->state_ == State::kUpstreamFailed) self->submitGoaway(self->downstream_, NGHTTP2_NO_ERROR, "");
  }
  self->armTimer();
  self->flush();
}

void ConnectionRelay::drain() {
  draining_ = true;
  // Without a downstream session yet, startDownstream() sends the GOAWAY.
  if (downstream_.session) submitGoaway(downstream_, NGHTTP2_NO_ERROR, "");
  flush();
}

void ConnectionRelay::abort() {
  closeLeg(downstream_, false, CloseReason::kShutdown, "drain timeout");
  closeLeg(upstream_, false, CloseReason::kShutdown, "drain timeout");
}

void ConnectionRelay::maybeRetire() {
  if (retired_ || downstream_.transport_open || upstream_.transport_open || dns_pending_) return;
  retired_ = true;
  ctx_.backoff->abandon(&backoff_ticket_);  // every path ends here: never leave the probe slot taken
  if (timer_open_) {
    timer_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &ConnectionRelay::onTimerClosed);
  } else {
    ctx_.retire(this);
  }
}

void ConnectionRelay::onTimerClosed(uv_handle_t* handle) {
  auto* self = static_cast<ConnectionRelay*>(handle->data);
  self->ctx_.retire(self);
}

}  // namespace grpcscope
