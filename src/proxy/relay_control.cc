// ConnectionRelay: frames about the connection rather than one stream's
// payload. SETTINGS are offered to the other peer, PINGs relayed end to end
// (RTT measured on each hop), GOAWAY relayed with a translated last stream id,
// window openings mirrored, and every frame reported to the observer.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "proxy/connection_relay.h"

namespace grpcscope {
namespace {

uint64_t nowNs() { return uv_hrtime(); }

uint64_t opaqueOf(const uint8_t data[8]) {
  uint64_t v;
  std::memcpy(&v, data, 8);
  return v;
}

constexpr int32_t kMaxStreamId = 0x7fffffff;

// A peer's GOAWAY debug data as a log field: printable ASCII, at most 128
// bytes (a newline in it would forge a log line).
std::string logText(std::string_view v) {
  std::string out(v.substr(0, 128));
  for (char& ch : out) {
    if (ch < 0x20 || ch > 0x7e) ch = '?';
  }
  return out;
}

}  // namespace

int ConnectionRelay::onFrameRecv(Leg& leg, const nghttp2_frame* frame) {
  switch (frame->hd.type) {
    case NGHTTP2_DATA: {
      if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) break;
      DataEvent ev;  // the end of the stream, after the frame's chunks (observer.h)
      ev.conn = leg.ref();
      ev.direction = Direction::kReceived;
      ev.stream_id = frame->hd.stream_id;
      ev.at_ns = nowNs();
      ev.end_stream = true;
      observer_.onData(ev);
      StreamRelay* sr = streamFor(leg, frame->hd.stream_id);
      if (!sr) break;
      if (leg.hop_ == Hop::kDownstream) {
        sr->request_ended = true;
        resumeTowards(Hop::kUpstream, *sr);
      } else if (!sr->answered_locally) {
        sr->response_ended = true;
        resumeTowards(Hop::kDownstream, *sr);
      }
      break;
    }
    case NGHTTP2_HEADERS: {
      bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
      bool trailers = frame->headers.cat == NGHTTP2_HCAT_HEADERS;
      HeadersEvent ev;
      ev.conn = leg.ref();
      ev.direction = Direction::kReceived;
      ev.stream_id = frame->hd.stream_id;
      ev.at_ns = nowNs();
      ev.fields = leg.incoming.fields();
      ev.count = leg.incoming.count();
      ev.trailers = trailers;
      ev.end_stream = end_stream;
      observer_.onHeaders(ev);
      if (leg.hop_ == Hop::kDownstream) {
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          onRequestHeaders(leg, frame->hd.stream_id, end_stream);
        } else if (StreamRelay* sr = streamFor(leg, frame->hd.stream_id)) {
          sr->request_trailers.swap(leg.incoming);
          sr->request_ended = true;
          resumeTowards(Hop::kUpstream, *sr);
        }
      } else {
        onResponseHeaders(leg, frame->hd.stream_id, end_stream, trailers);
      }
      break;
    }
    case NGHTTP2_SETTINGS:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
        emitSettings(leg, Direction::kReceived, true, nullptr, 0);
      } else {
        onSettingsRecv(leg, frame->settings);
      }
      break;
    case NGHTTP2_PING:
      onPingRecv(leg, frame->ping);
      break;
    case NGHTTP2_GOAWAY:
      onGoawayRecv(leg, frame->goaway);
      break;
    case NGHTTP2_RST_STREAM:
      onRstStreamRecv(leg, frame->rst_stream);
      break;
    case NGHTTP2_WINDOW_UPDATE:
      onWindowUpdateRecv(leg, frame->window_update);
      break;
    default:
      break;
  }
  return 0;
}

int ConnectionRelay::onFrameSend(Leg& leg, const nghttp2_frame* frame) {
  switch (frame->hd.type) {
    case NGHTTP2_DATA: {
      DataEvent ev;
      ev.conn = leg.ref();
      ev.direction = Direction::kSent;
      ev.stream_id = frame->hd.stream_id;
      ev.at_ns = nowNs();
      ev.length = frame->hd.length;
      ev.end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
      observer_.onData(ev);
      break;
    }
    case NGHTTP2_HEADERS: {
      sent_fields_.resize(frame->headers.nvlen);
      for (size_t i = 0; i < frame->headers.nvlen; ++i) {
        const nghttp2_nv& nv = frame->headers.nva[i];
        sent_fields_[i] = HeaderField{{reinterpret_cast<const char*>(nv.name), nv.namelen},
                                      {reinterpret_cast<const char*>(nv.value), nv.valuelen}};
      }
      HeadersEvent ev;
      ev.conn = leg.ref();
      ev.direction = Direction::kSent;
      ev.stream_id = frame->hd.stream_id;
      ev.at_ns = nowNs();
      ev.fields = sent_fields_.data();
      ev.count = sent_fields_.size();
      ev.trailers = frame->headers.cat == NGHTTP2_HCAT_HEADERS;
      ev.end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
      observer_.onHeaders(ev);
      break;
    }
    case NGHTTP2_RST_STREAM: {
      RstStreamEvent ev;
      ev.conn = leg.ref();
      ev.direction = Direction::kSent;
      ev.stream_id = frame->hd.stream_id;
      ev.error_code = frame->rst_stream.error_code;
      observer_.onRstStream(ev);
      break;
    }
    case NGHTTP2_SETTINGS:
      emitSettings(leg, Direction::kSent, frame->hd.flags & NGHTTP2_FLAG_ACK, frame->settings.iv,
                   frame->settings.niv);
      break;
    case NGHTTP2_PING: {
      PingEvent ev;
      ev.conn = leg.ref();
      ev.direction = Direction::kSent;
      ev.ack = frame->hd.flags & NGHTTP2_FLAG_ACK;
      ev.opaque = opaqueOf(frame->ping.opaque_data);
      ev.at_ns = nowNs();
      if (!ev.ack) {
        // Serialized now; the RTT runs from the write that carries it
        // (pump() and onLegDrained()), this is the fallback.
        for (auto& p : leg.pings) {
          if (p.opaque == ev.opaque && !p.queued) p.sent_ns = ev.at_ns;
        }
      }
      observer_.onPing(ev);
      break;
    }
    case NGHTTP2_GOAWAY: {
      // A GOAWAY grpcscope submitted (relayed from the other peer, or its own
      // answer to a fault it found) counts down; one it did not submit is
      // nghttp2's own: it found this peer at fault (bad frame, size, HPACK,
      // too many SETTINGS entries).
      bool submitted = leg.goaways_unsent > 0;
      onGoawaySerialized(leg);
      if (!submitted && frame->goaway.error_code != NGHTTP2_NO_ERROR && !leg.violation_reported) {
        leg.violation_reported = true;
        std::string_view why{reinterpret_cast<const char*>(frame->goaway.opaque_data), frame->goaway.opaque_data_len};
        ViolationEvent v;
        v.conn = leg.ref();
        v.kind = why.find("too many setting entries") != std::string_view::npos ? "settings_flood" : "protocol";
        v.error_code = frame->goaway.error_code;
        observer_.onViolation(v);
      }
      GoawayEvent ev;
      ev.conn = leg.ref();
      ev.direction = Direction::kSent;
      ev.last_stream_id = frame->goaway.last_stream_id;
      ev.error_code = frame->goaway.error_code;
      ev.debug_data = {reinterpret_cast<const char*>(frame->goaway.opaque_data), frame->goaway.opaque_data_len};
      observer_.onGoaway(ev);
      break;
    }
    case NGHTTP2_WINDOW_UPDATE: {
      WindowUpdateEvent ev;
      ev.conn = leg.ref();
      ev.direction = Direction::kSent;
      ev.stream_id = frame->hd.stream_id;
      ev.increment = static_cast<uint32_t>(frame->window_update.window_size_increment);
      observer_.onWindowUpdate(ev);
      break;
    }
    default:
      break;
  }
  // After the response's END_STREAM is out, end the client's half too when the
  // server did (its RST_STREAM) or when grpcscope answered the call itself.
  if (leg.hop_ == Hop::kDownstream && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) {
    if (StreamRelay* sr = streamFor(leg, frame->hd.stream_id)) {
      sr->response_end_sent = true;
      if (sr->server_reset != kNoReset && sr->up_closed) {
        nghttp2_submit_rst_stream(leg.session, NGHTTP2_FLAG_NONE, sr->down_id, sr->server_reset);
      } else if (sr->answered_locally && !sr->request_ended) {
        nghttp2_submit_rst_stream(leg.session, NGHTTP2_FLAG_NONE, sr->down_id, NGHTTP2_NO_ERROR);
      }
      sr->downstream_reset = kNoReset;
    }
  }
  return 0;
}

int ConnectionRelay::onFrameNotSend(Leg& leg, const nghttp2_frame* frame, int lib_error) {
  if (frame->hd.type == NGHTTP2_GOAWAY) onGoawaySerialized(leg);
  spdlog::debug("[W{}][C{}][S{}] {} frame type {} not sent: {}", ctx_.worker_id, id_, frame->hd.stream_id,
                hopName(leg.hop_), frame->hd.type, nghttp2_strerror(lib_error));
  return 0;
}

int ConnectionRelay::onInvalidFrameRecv(Leg& leg, const nghttp2_frame* frame, int lib_error) {
  spdlog::debug("[W{}][C{}][S{}] {} invalid frame type {}: {}", ctx_.worker_id, id_, frame->hd.stream_id,
                hopName(leg.hop_), frame->hd.type, nghttp2_strerror(lib_error));
  return 0;
}

// ---------------------------------------------------------------------------
// SETTINGS

void ConnectionRelay::onSettingsRecv(Leg& leg, const nghttp2_settings& settings) {
  emitSettings(leg, Direction::kReceived, false, settings.iv, settings.niv);
  if (leg.hop_ == Hop::kDownstream && !client_preface_seen_) {
    client_preface_seen_ = true;
    handshake_deadline_ = 0;
    armTimer();
  }
  if (leg.hop_ == Hop::kUpstream && state_ == State::kUpstreamHandshake) {
    onUpstreamReady(settings);
    return;
  }
  nghttp2_settings_entry iv[8];
  size_t n = mirrorableSettings(leg.hop_, settings, iv);
  offerSettings(other(leg), iv, n);
}

// Of what one peer advertised, what the other peer is offered: windows (within
// our caps), frame size, header list size (within ours), and from the server
// its stream limit. Push is never relayed; HEADER_TABLE_SIZE belongs to each
// hop's HPACK state. iv must hold 8 entries.
size_t ConnectionRelay::mirrorableSettings(Hop from, const nghttp2_settings& settings, nghttp2_settings_entry* iv) {
  size_t n = 0;
  for (size_t i = 0; i < settings.niv && n < 8; ++i) {
    const nghttp2_settings_entry& e = settings.iv[i];
    switch (e.settings_id) {
      case NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE:
        iv[n++] = {e.settings_id, std::min(e.value, config_.limits.max_stream_window)};
        break;
      case NGHTTP2_SETTINGS_MAX_FRAME_SIZE:
        iv[n++] = e;
        break;
      case NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE:
        iv[n++] = {e.settings_id, std::min(e.value, config_.limits.max_header_list_size)};
        break;
      case NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS:
        // Server -> client only: it limits the streams the client may open.
        if (from == Hop::kUpstream) iv[n++] = e;
        break;
      default:
        break;
    }
  }
  return n;
}

void ConnectionRelay::offerSettings(Leg& to, const nghttp2_settings_entry* iv, size_t niv) {
  if (!to.session || !to.transport_open) return;
  nghttp2_settings_entry changed[8];
  size_t n = 0;
  for (size_t i = 0; i < niv; ++i) {
    int32_t id = iv[i].settings_id;
    if (id < 0 || static_cast<size_t>(id) >= to.offered.size()) continue;
    if (to.offered_set[id] && to.offered[id] == iv[i].value) continue;
    to.offered[id] = iv[i].value;
    to.offered_set[id] = true;
    changed[n++] = iv[i];
  }
  if (n > 0) nghttp2_submit_settings(to.session, NGHTTP2_FLAG_NONE, changed, n);
}

void ConnectionRelay::emitSettings(Leg& leg, Direction dir, bool ack, const nghttp2_settings_entry* iv, size_t niv) {
  SettingEntry entries[16];
  size_t n = std::min<size_t>(niv, 16);
  for (size_t i = 0; i < n; ++i) {
    entries[i] = SettingEntry{static_cast<uint16_t>(iv[i].settings_id), iv[i].value};
  }
  SettingsEvent ev;
  ev.conn = leg.ref();
  ev.direction = dir;
  ev.ack = ack;
  ev.entries = entries;
  ev.count = n;
  observer_.onSettings(ev);
}

// ---------------------------------------------------------------------------
// PING: relayed end to end. grpcscope never originates a PING: a gRPC server
// counts PINGs as strikes (gRFC A8; docs/architecture.md "PING, GOAWAY, RST_STREAM").

void ConnectionRelay::onPingRecv(Leg& leg, const nghttp2_ping& ping) {
  uint64_t now = nowNs();
  uint64_t opaque = opaqueOf(ping.opaque_data);
  PingEvent ev;
  ev.conn = leg.ref();
  ev.direction = Direction::kReceived;
  ev.ack = ping.hd.flags & NGHTTP2_FLAG_ACK;
  ev.opaque = opaque;
  ev.at_ns = now;
  Leg& far = other(leg);
  if (ev.ack) {
    auto it = std::find_if(leg.pings.begin(), leg.pings.end(), [&](const auto& p) { return p.opaque == opaque; });
    if (it != leg.pings.end()) {
      ev.rtt_ns = it->sent_ns ? now - it->sent_ns : 0;  // 0: never serialized (unknown)
      leg.pings.erase(it);
      observer_.onPing(ev);
      if (far.session && far.transport_open) submitPing(far, NGHTTP2_FLAG_ACK, ping.opaque_data);
    } else {
      observer_.onPing(ev);  // an ACK for no PING of ours: reported, not relayed
    }
    return;
  }
  observer_.onPing(ev);
  bool far_ready = far.session && far.transport_open && !far.transport->closing() && state_ == State::kRelaying &&
                   !upstream_gone_;
  if (!far_ready) {
    // No far peer to ask: answer on its behalf so the connection stays healthy.
    nghttp2_submit_ping(leg.session, NGHTTP2_FLAG_ACK, ping.opaque_data);
    return;
  }
  if (far.pings.size() >= config_.limits.max_outstanding_pings) {
    failConnection(leg, NGHTTP2_ENHANCE_YOUR_CALM, "ping_flood", CloseReason::kFlood);
    return;
  }
  far.pings.push_back({opaque, 0});
  submitPing(far, NGHTTP2_FLAG_NONE, ping.opaque_data);
}

void ConnectionRelay::submitPing(Leg& to, uint8_t flags, const uint8_t opaque[8]) {
  if (to.goaways_unsent > 0) {
    Leg::HeldPing held{flags, {}};
    std::memcpy(held.opaque, opaque, 8);
    to.held_pings.push_back(held);  // bounded: max_outstanding_pings each way
    return;
  }
  nghttp2_submit_ping(to.session, flags, opaque);
}

// A GOAWAY submitted to `leg` was serialized (or dropped): the PINGs that
// arrived after it may follow now, in their order.
void ConnectionRelay::onGoawaySerialized(Leg& leg) {
  if (leg.goaways_unsent > 0) --leg.goaways_unsent;
  if (leg.goaways_unsent > 0 || leg.held_pings.empty()) return;
  std::vector<Leg::HeldPing> held;
  held.swap(leg.held_pings);
  for (const auto& p : held) nghttp2_submit_ping(leg.session, p.flags, p.opaque);
}

// The server's graceful-shutdown notice (shutdown_notice_filter.h): the client
// gets the same frame, byte for byte, after every frame relayed before it.
// Neither session treats it as a GOAWAY, so both legs go on opening streams
// until the server's final GOAWAY, as the server expects.
void ConnectionRelay::onShutdownNotice(std::string_view frame, std::string_view debug_data) {
  GoawayEvent ev;
  ev.conn = upstream_.ref();
  ev.direction = Direction::kReceived;
  ev.last_stream_id = static_cast<uint32_t>(kMaxStreamId);
  ev.error_code = NGHTTP2_NO_ERROR;
  ev.debug_data = debug_data;
  observer_.onGoaway(ev);
  spdlog::debug("[W{}][C{}] upstream GOAWAY received: shutdown notice (last stream 2^31-1) debug \"{}\"",
                ctx_.worker_id, id_, logText(debug_data));
  Leg& down = downstream_;
  if (state_ != State::kRelaying || !down.session || !down.transport_open || down.transport->closing() ||
      down.goaway_sent_code != kNoReset) {
    return;
  }
  // Outside any nghttp2 callback here (between two mem_recv runs): what the
  // downstream session holds goes first, then the notice itself.
  pump(down, true);
  down.transport->queue(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  ev.conn = down.ref();
  ev.direction = Direction::kSent;
  observer_.onGoaway(ev);
}

// ---------------------------------------------------------------------------
// GOAWAY and RST_STREAM

int32_t ConnectionRelay::downstreamLastStreamFor(int32_t upstream_last) {
  if (upstream_last >= last_up_id_submitted_) return last_down_id_submitted_;
  // Ids map in order: the first client stream whose upstream id is past the
  // server's last one bounds what the server may have processed.
  int32_t first_unprocessed = kMaxStreamId;
  for (auto& [down_id, sr] : streams_) {
    if (sr->up_id > upstream_last && down_id < first_unprocessed) first_unprocessed = down_id;
  }
  return first_unprocessed == kMaxStreamId ? last_down_id_submitted_ : std::max(0, first_unprocessed - 2);
}

void ConnectionRelay::onGoawayRecv(Leg& leg, const nghttp2_goaway& goaway) {
  GoawayEvent ev;
  ev.conn = leg.ref();
  ev.direction = Direction::kReceived;
  ev.last_stream_id = goaway.last_stream_id;
  ev.error_code = goaway.error_code;
  ev.debug_data = {reinterpret_cast<const char*>(goaway.opaque_data), goaway.opaque_data_len};
  observer_.onGoaway(ev);
  spdlog::debug("[W{}][C{}] {} GOAWAY received: code {} last stream {} debug \"{}\"", ctx_.worker_id, id_,
                hopName(leg.hop_), goaway.error_code, goaway.last_stream_id, logText(ev.debug_data));
  Leg& far = other(leg);
  if (!far.session || !far.transport_open) return;
  if (leg.hop_ == Hop::kUpstream) {
    // (The server's graceful-shutdown notice never gets here: see onShutdownNotice.)
    upstream_goaway_received_ = true;
    if (nghttp2_submit_goaway(far.session, NGHTTP2_FLAG_NONE, downstreamLastStreamFor(goaway.last_stream_id),
                              goaway.error_code, goaway.opaque_data, goaway.opaque_data_len) == 0) {
      ++far.goaways_unsent;
    }
    far.goaway_sent_code = goaway.error_code;
  } else {
    // The client's last stream id names server-initiated (push) streams: none.
    if (nghttp2_submit_goaway(far.session, NGHTTP2_FLAG_NONE, goaway.last_stream_id, goaway.error_code,
                              goaway.opaque_data, goaway.opaque_data_len) == 0) {
      ++far.goaways_unsent;
    }
    far.goaway_sent_code = goaway.error_code;
  }
}

void ConnectionRelay::submitGoaway(Leg& leg, uint32_t error_code, std::string_view debug) {
  if (!leg.session || leg.goaway_sent_code != kNoReset || !leg.transport_open) return;
  int32_t last = leg.hop_ == Hop::kDownstream ? nghttp2_session_get_last_proc_stream_id(leg.session) : 0;
  if (nghttp2_submit_goaway(leg.session, NGHTTP2_FLAG_NONE, last, error_code,
                            reinterpret_cast<const uint8_t*>(debug.data()), debug.size()) == 0) {
    ++leg.goaways_unsent;
  }
  leg.goaway_sent_code = error_code;
}

void ConnectionRelay::onRstStreamRecv(Leg& leg, const nghttp2_rst_stream& rst) {
  RstStreamEvent ev;
  ev.conn = leg.ref();
  ev.direction = Direction::kReceived;
  ev.stream_id = rst.hd.stream_id;
  ev.error_code = rst.error_code;
  observer_.onRstStream(ev);
  if (leg.hop_ == Hop::kDownstream && resetFlood(leg)) {
    failConnection(leg, NGHTTP2_ENHANCE_YOUR_CALM, "rapid_reset", CloseReason::kFlood);
  }
  StreamRelay* sr = streamFor(leg, rst.hd.stream_id);
  if (!sr) return;
  // Relayed from onStreamClose, which nghttp2 calls next.
  if (leg.hop_ == Hop::kDownstream) {
    sr->client_reset = rst.error_code;
  } else {
    sr->server_reset = rst.error_code;
  }
}

bool ConnectionRelay::resetFlood(Leg& leg) {
  const LimitConfig& limits = config_.limits;
  uint64_t now = nowNs();
  if (leg.reset_tokens < 0) {
    leg.reset_tokens = limits.reset_burst;
    leg.reset_refill_ns = now;
  }
  leg.reset_tokens = std::min<double>(limits.reset_burst,
                                      leg.reset_tokens + (now - leg.reset_refill_ns) * 1e-9 * limits.reset_rate);
  leg.reset_refill_ns = now;
  if (leg.reset_tokens < 1) return true;
  leg.reset_tokens -= 1;
  return false;
}

// ---------------------------------------------------------------------------
// Flow control windows

void ConnectionRelay::onWindowUpdateRecv(Leg& leg, const nghttp2_window_update& wu) {
  WindowUpdateEvent ev;
  ev.conn = leg.ref();
  ev.direction = Direction::kReceived;
  ev.stream_id = wu.hd.stream_id;
  ev.increment = static_cast<uint32_t>(wu.window_size_increment);
  observer_.onWindowUpdate(ev);
  Leg& far = other(leg);
  if (wu.hd.stream_id == 0) {
    mirrorWindow(leg, 0, far, 0);
    return;
  }
  if (StreamRelay* sr = streamFor(leg, wu.hd.stream_id)) {
    int32_t far_id = leg.hop_ == Hop::kUpstream ? sr->down_id : sr->up_id;
    if (far_id != 0) mirrorWindow(leg, wu.hd.stream_id, far, far_id);
  }
}

// A peer that opens its window past what we offer the other peer (gRPC's BDP
// probing grows windows this way) gets the same room offered upstream of it,
// up to our caps, so the proxy does not shrink the pipe.
void ConnectionRelay::mirrorWindow(Leg& from, int32_t from_stream, Leg& to, int32_t to_stream) {
  if (!from.session || !to.session || !to.transport_open) return;
  int32_t remote = from_stream ? nghttp2_session_get_stream_remote_window_size(from.session, from_stream)
                               : nghttp2_session_get_remote_window_size(from.session);
  if (remote <= 0) return;
  uint32_t cap = from_stream ? config_.limits.max_stream_window : config_.limits.max_connection_window;
  int32_t target = static_cast<int32_t>(std::min<uint32_t>(static_cast<uint32_t>(remote), cap));
  int32_t local = to_stream ? nghttp2_session_get_stream_effective_local_window_size(to.session, to_stream)
                            : nghttp2_session_get_effective_local_window_size(to.session);
  if (local >= 0 && target > local) {
    nghttp2_session_set_local_window_size(to.session, NGHTTP2_FLAG_NONE, to_stream, target);
  }
}

}  // namespace grpcscope
