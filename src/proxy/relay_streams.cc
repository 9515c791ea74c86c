// ConnectionRelay: streams. HEADERS, DATA and trailers cross from one session
// to the other; resets cross with their code; bytes are consumed on the leg
// they came from only when the other leg's session took them.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "proxy/connection_relay.h"
#include "proxy/grpc_status.h"
#include "proxy/h2_callbacks.h"

namespace grpcscope {
namespace {

uint64_t nowNs() { return uv_hrtime(); }

}  // namespace

StreamRelay* ConnectionRelay::streamFor(Leg& leg, int32_t stream_id) {
  if (!leg.session) return nullptr;
  return static_cast<StreamRelay*>(nghttp2_session_get_stream_user_data(leg.session, stream_id));
}

int ConnectionRelay::onBeginHeaders(Leg& leg, const nghttp2_frame* frame) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  leg.incoming.clear();
  if (leg.hop_ == Hop::kDownstream && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    auto sr = std::make_unique<StreamRelay>();
    sr->down_id = frame->hd.stream_id;
    nghttp2_session_set_stream_user_data(leg.session, frame->hd.stream_id, sr.get());
    streams_.emplace(frame->hd.stream_id, std::move(sr));
    ++leg.streams;
    if (idle_deadline_) {
      idle_deadline_ = 0;
      armTimer();
    }
    StreamEvent ev;
    ev.conn = leg.ref();
    ev.stream_id = frame->hd.stream_id;
    ev.at_ns = nowNs();
    observer_.onStreamOpen(ev);
  }
  return 0;
}

int ConnectionRelay::onHeader(Leg& leg, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                              const uint8_t* value, size_t valuelen, uint8_t flags) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  leg.incoming.add({reinterpret_cast<const char*>(name), namelen}, {reinterpret_cast<const char*>(value), valuelen},
                   flags);
  // A header list past the bound closes the connection (ENHANCE_YOUR_CALM):
  // it is how header floods look (RFC 9113 section 10.5.1).
  if (leg.incoming.listSize() > config_.limits.max_header_list_size) return NGHTTP2_ERR_CALLBACK_FAILURE;
  return 0;
}

void ConnectionRelay::onRequestHeaders(Leg& down, int32_t stream_id, bool end_stream) {
  StreamRelay* sr = streamFor(down, stream_id);
  if (!sr) return;
  if (end_stream) sr->request_ended = true;
  if (state_ == State::kUpstreamFailed || upstream_gone_ || !upstream_.session) {
    answerLocally(*sr, kGrpcUnavailable,
                  upstream_failure_.empty() ? "upstream " + config_.upstream.toString() + " unavailable"
                                            : upstream_failure_);
    return;
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = sr;
  provider.read_callback = relayDataRead;
  int32_t up_id = nghttp2_submit_request(upstream_.session, nullptr, down.incoming.nva(), down.incoming.count(),
                                         end_stream ? nullptr : &provider, sr);
  if (up_id < 0) {
    if (up_id == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED || upstream_goaway_received_) {
      // The server is going away (it sent GOAWAY): the client may retry elsewhere.
      nghttp2_submit_rst_stream(down.session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_REFUSED_STREAM);
    } else {
      answerLocally(*sr, kGrpcUnavailable,
                    "upstream " + config_.upstream.toString() + ": cannot open stream: " + nghttp2_strerror(up_id));
    }
    return;
  }
  sr->up_id = up_id;
  StreamMapEvent map_ev;
  map_ev.conn = down.ref();
  map_ev.downstream_id = stream_id;
  map_ev.upstream_id = up_id;
  observer_.onStreamMapped(map_ev);
  last_down_id_submitted_ = stream_id;
  last_up_id_submitted_ = up_id;
  ++upstream_.streams;
}

void ConnectionRelay::onResponseHeaders(Leg& up, int32_t stream_id, bool end_stream, bool trailers) {
  StreamRelay* sr = streamFor(up, stream_id);
  if (!sr || sr->down_closed || sr->answered_locally) return;
  if (trailers || sr->response_headers_sent) {
    sr->response_trailers.swap(up.incoming);
    sr->response_ended = true;
    resumeTowards(Hop::kDownstream, *sr);
    return;
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = sr;
  provider.read_callback = relayDataRead;
  int rv = nghttp2_submit_response(downstream_.session, sr->down_id, up.incoming.nva(), up.incoming.count(),
                                   end_stream ? nullptr : &provider);
  if (rv != 0) {
    spdlog::debug("[W{}][C{}][S{}] response not relayed: {}", ctx_.worker_id, id_, sr->down_id,
                  nghttp2_strerror(rv));
    return;
  }
  sr->response_headers_sent = true;
  if (end_stream) sr->response_ended = true;
}

int ConnectionRelay::onDataChunkRecv(Leg& leg, uint8_t flags, int32_t stream_id, const uint8_t* data, size_t len) {
  (void)flags;
  DataEvent ev;
  ev.conn = leg.ref();
  ev.direction = Direction::kReceived;
  ev.stream_id = stream_id;
  ev.at_ns = nowNs();
  ev.length = len;
  ev.bytes = data;
  observer_.onData(ev);

  StreamRelay* sr = streamFor(leg, stream_id);
  if (leg.hop_ == Hop::kDownstream) {
    if (!sr || sr->up_id == 0 || sr->up_closed || sr->answered_locally) {
      // Nobody will take these bytes: reopen the window at once (with automatic window updates off, dropped bytes must still be consumed).
      nghttp2_session_consume(leg.session, stream_id, len);
      return 0;
    }
    sr->to_upstream.append(data, len);
    holdFrom(leg, len);
    resumeTowards(Hop::kUpstream, *sr);
  } else {
    if (!sr || sr->down_closed || sr->answered_locally) {
      nghttp2_session_consume(leg.session, stream_id, len);
      return 0;
    }
    sr->to_downstream.append(data, len);
    holdFrom(leg, len);
    resumeTowards(Hop::kDownstream, *sr);
  }
  return 0;
}

void ConnectionRelay::resumeTowards(Hop hop, StreamRelay& sr) {
  if (hop == Hop::kUpstream) {
    if (sr.upstream_deferred && sr.up_id && upstream_.session && !sr.up_closed) {
      sr.upstream_deferred = false;
      nghttp2_session_resume_data(upstream_.session, sr.up_id);
    }
  } else if (sr.downstream_deferred && !sr.down_closed && downstream_.session) {
    sr.downstream_deferred = false;
    nghttp2_session_resume_data(downstream_.session, sr.down_id);
  }
}

// The data provider of both legs. `leg` is the leg the bytes are sent on.
ssize_t ConnectionRelay::readForLeg(Leg& leg, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* data_flags,
                                    StreamRelay* sr) {
  if (leg.hop_ == Hop::kUpstream) {
    // Lifetime edge: once the upstream is gone its streams' relays may be freed;
    // its session only flushes a last GOAWAY.
    if (upstream_gone_) return NGHTTP2_ERR_DEFERRED;
    size_t n = sr->to_upstream.read(buf, length);
    // Taken by the upstream session: now the client may send that much more on this stream.
    if (n > 0) releaseFrom(downstream_, sr->down_id, n);
    if (sr->to_upstream.empty() && sr->request_ended) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!sr->request_trailers.empty()) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_submit_trailer(leg.session, stream_id, sr->request_trailers.nva(), sr->request_trailers.count());
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      sr->upstream_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }

  size_t n = sr->to_downstream.read(buf, length);
  if (n > 0) releaseFrom(upstream_, sr->up_id, n);
  if (sr->to_downstream.empty()) {
    if (sr->response_ended) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!sr->response_trailers.empty()) {
        // gRPC status travels in trailers: DATA without END_STREAM, then HEADERS.
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_submit_trailer(leg.session, stream_id, sr->response_trailers.nva(), sr->response_trailers.count());
      }
      return static_cast<ssize_t>(n);
    }
    if (sr->downstream_reset != kNoReset && n == 0) {
      // The server reset mid-response; what it sent before is out now.
      nghttp2_submit_rst_stream(leg.session, NGHTTP2_FLAG_NONE, stream_id, sr->downstream_reset);
      sr->downstream_reset = kNoReset;
      sr->downstream_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    if (n == 0) {
      sr->downstream_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

int ConnectionRelay::onStreamClose(Leg& leg, int32_t stream_id, uint32_t error_code) {
  StreamCloseEvent ev;
  ev.conn = leg.ref();
  ev.stream_id = stream_id;
  ev.at_ns = nowNs();
  ev.error_code = error_code;
  observer_.onStreamClose(ev);

  StreamRelay* sr = streamFor(leg, stream_id);
  if (!sr) return 0;
  if (leg.hop_ == Hop::kDownstream) {
    sr->down_closed = true;
    // Response bytes the client will never read: give the server its window back.
    if (size_t n = sr->to_downstream.size()) {
      releaseFrom(upstream_, sr->up_id, n);
      sr->to_downstream.clear();
    }
    bool up_open = sr->up_id != 0 && !sr->up_closed && upstream_.session && !upstream_gone_;
    if (up_open && (sr->client_reset != kNoReset || (error_code != NGHTTP2_NO_ERROR && !sr->request_ended))) {
      // A client cancel reaches the server as the same RST_STREAM code.
      uint32_t code = sr->client_reset != kNoReset ? sr->client_reset : static_cast<uint32_t>(NGHTTP2_CANCEL);
      nghttp2_submit_rst_stream(upstream_.session, NGHTTP2_FLAG_NONE, sr->up_id, code);
      if (size_t n = sr->to_upstream.size()) {
        releaseFrom(downstream_, 0, n);  // connection window only: the stream is gone
        sr->to_upstream.clear();
      }
    }
    if (!up_open) releaseStream(*sr);
    return 0;
  }

  sr->up_closed = true;
  if (size_t n = sr->to_upstream.size()) {
    releaseFrom(downstream_, sr->down_id, n);
    sr->to_upstream.clear();
  }
  if (!sr->down_closed && !sr->answered_locally) {
    uint32_t code = sr->server_reset != kNoReset ? sr->server_reset : error_code;
    if (sr->server_reset != kNoReset || (code != NGHTTP2_NO_ERROR && !sr->response_ended)) {
      if (!sr->response_headers_sent || sr->response_end_sent || (sr->to_downstream.empty() && !sr->response_ended)) {
        // Nothing of the response is waiting here (none began, or all of it,
        // trailers included, is out already): the reset goes now. After the
        // trailers it is the server's "stop sending" (RFC 9113 section 8.1).
        nghttp2_submit_rst_stream(downstream_.session, NGHTTP2_FLAG_NONE, sr->down_id, code);
      } else {
        // Relay what the server sent before the reset first (a reset submitted first would cancel frames still queued).
        sr->downstream_reset = code;
        resumeTowards(Hop::kDownstream, *sr);
      }
    }
  }
  if (sr->down_closed) releaseStream(*sr);
  return 0;
}

void ConnectionRelay::answerLocally(StreamRelay& sr, int grpc_status, std::string_view message) {
  if (sr.down_closed || sr.answered_locally) return;
  sr.answered_locally = true;
  answered_any_locally_ = true;
  if (size_t n = sr.to_upstream.size()) {
    releaseFrom(downstream_, sr.down_id, n);
    sr.to_upstream.clear();
  }
  if (!sr.response_headers_sent) {
    HeaderBlock block;
    buildTrailersOnly(block, grpc_status, message);
    nghttp2_submit_response(downstream_.session, sr.down_id, block.nva(), block.count(), nullptr);
    sr.response_headers_sent = true;
  } else {
    buildStatusTrailers(sr.response_trailers, grpc_status, message);
    resumeTowards(Hop::kDownstream, sr);
  }
  sr.response_ended = true;
  UpstreamFailureEvent ev;
  ev.conn = downstream_.ref();
  ev.stream_id = sr.down_id;
  ev.cause = message;
  observer_.onUpstreamFailure(ev);
  if (state_ == State::kUpstreamFailed) goaway_after_answer_ = true;
}

void ConnectionRelay::failUpstreamStreams(std::string_view cause) {
  std::vector<int32_t> ids;
  ids.reserve(streams_.size());
  for (auto& [id, sr] : streams_) ids.push_back(id);
  for (int32_t id : ids) {
    auto it = streams_.find(id);
    if (it == streams_.end()) continue;
    StreamRelay& sr = *it->second;
    if (sr.up_closed && sr.up_id != 0) continue;
    sr.up_closed = true;
    // The upstream session must not reach this relay again (it may be freed below).
    if (sr.up_id != 0 && upstream_.session) nghttp2_session_set_stream_user_data(upstream_.session, sr.up_id, nullptr);
    if (size_t n = sr.to_upstream.size()) {
      releaseFrom(downstream_, sr.down_id, n);
      sr.to_upstream.clear();
    }
    if (!sr.response_ended) {
      answerLocally(sr, kGrpcUnavailable, cause);
    }
    if (sr.down_closed) releaseStream(sr);
  }
}

void ConnectionRelay::releaseStream(StreamRelay& sr) {
  if (size_t n = sr.to_upstream.size()) releaseFrom(downstream_, 0, n);
  if (size_t n = sr.to_downstream.size()) releaseFrom(upstream_, 0, n);
  for (int hop = 0; hop < 2; ++hop) {
    if (sr.blocked_since_ns[hop]) {
      FlowControlEvent ev;
      ev.conn = (hop == 0 ? downstream_ : upstream_).ref();
      ev.stream_id = hop == 0 ? sr.down_id : sr.up_id;
      ev.at_ns = nowNs();
      ev.blocked = false;
      ev.blocked_ns = ev.at_ns - sr.blocked_since_ns[hop];
      observer_.onFlowControl(ev);
    }
  }
  streams_.erase(sr.down_id);  // sr is gone from here on
  if (streams_.empty() && config_.timeouts.idle_ms > 0 && state_ == State::kRelaying) {
    idle_deadline_ = nowNs() + config_.timeouts.idle_ms * 1'000'000ull;
    armTimer();
  }
}

// Flow-control accounting (RFC 9113 section 6.9; docs/architecture.md "The
// backpressure chain"). A stream's window reopens only when the other leg
// took its bytes: that carries a slow reader's pace back to its sender. The
// connection window reopens as soon as the bytes are in a queue here, as a
// gRPC peer does once it holds them, so that one stream whose far side does
// not read never blocks the other streams of the connection. What the
// connection window covers in queues is bounded by --max-connection-buffer;
// past it, the connection window waits for the queues to drain.
void ConnectionRelay::holdFrom(Leg& from, size_t len) {
  from.buffered += len;
  from.connection_owed += len;
  returnConnectionWindow(from);
}

// `n` bytes from `from`'s peer left a queue: taken by the other leg, or
// dropped. stream_id 0: the stream is gone, only the connection counts.
void ConnectionRelay::releaseFrom(Leg& from, int32_t stream_id, size_t n) {
  from.buffered -= n;
  bool live = from.session && !(from.hop_ == Hop::kUpstream && upstream_gone_);
  if (live && stream_id != 0) nghttp2_session_consume_stream(from.session, stream_id, n);
  returnConnectionWindow(from);
}

void ConnectionRelay::returnConnectionWindow(Leg& from) {
  size_t give = 0;
  if (from.connection_owed > from.buffered) {  // owed bytes that left the queues
    give = from.connection_owed - from.buffered;
    from.connection_owed = from.buffered;
  }
  size_t covered = from.buffered - from.connection_owed;
  size_t budget = config_.limits.max_connection_buffer;
  size_t more = std::min(from.connection_owed, budget > covered ? budget - covered : 0);
  from.connection_owed -= more;
  give += more;
  bool live = from.session && !(from.hop_ == Hop::kUpstream && upstream_gone_);
  if (give > 0 && live) nghttp2_session_consume_connection(from.session, give);
}

void ConnectionRelay::checkFlowBlocked() {
  if (bufferedBytes() == 0 && blocked_streams_ == 0) return;
  uint64_t now = 0;
  blocked_streams_ = 0;
  for (auto& [id, srp] : streams_) {
    StreamRelay& sr = *srp;
    for (int hop = 0; hop < 2; ++hop) {
      Leg& leg = hop == 0 ? downstream_ : upstream_;
      int32_t sid = hop == 0 ? sr.down_id : sr.up_id;
      size_t pending = hop == 0 ? sr.to_downstream.size() : sr.to_upstream.size();
      bool blocked = false;
      bool by_connection = false;
      if (pending > 0 && sid != 0 && leg.session && !(hop == 0 ? sr.down_closed : sr.up_closed)) {
        int32_t stream_window = nghttp2_session_get_stream_remote_window_size(leg.session, sid);
        int32_t conn_window = nghttp2_session_get_remote_window_size(leg.session);
        blocked = stream_window <= 0 || conn_window <= 0;
        by_connection = conn_window <= 0;
      }
      if (blocked == (sr.blocked_since_ns[hop] != 0)) {
        if (blocked) ++blocked_streams_;
        continue;
      }
      if (now == 0) now = nowNs();
      FlowControlEvent ev;
      ev.conn = leg.ref();
      ev.stream_id = sid;
      ev.at_ns = now;
      ev.blocked = blocked;
      ev.connection_window = by_connection;
      ev.pending_bytes = pending;
      if (blocked) {
        sr.blocked_since_ns[hop] = now;
        ++blocked_streams_;
      } else {
        ev.blocked_ns = now - sr.blocked_since_ns[hop];
        sr.blocked_since_ns[hop] = 0;
      }
      observer_.onFlowControl(ev);
    }
  }
}

}  // namespace grpcscope
