#include "analysis/analysis_observer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_set>

#include "analysis/grpc_codes.h"
#include "analysis/label_bounds.h"

namespace grpcscope {
namespace {

constexpr int kDown = static_cast<int>(Hop::kDownstream);
constexpr int kUp = static_cast<int>(Hop::kUpstream);
constexpr size_t kMaxMethodName = 256;
constexpr size_t kMaxHeaderKept = 256;
// HopStats::send_active_ns: a pause between two DATA frames sent on one leg
// longer than this, with no stream waiting on a window, is the sender having
// nothing to send (between calls, or the source is slow), not sending time.
constexpr uint64_t kSendGapNs = 200'000'000;
// HopStats::large_message_rtts_*: a message this large needs several round
// trips in TCP slow start from the initial window of 10 segments (RFC 6928),
// about 14 KB. A sender idle for longer than its retransmission timeout
// (at least 1 s by RFC 6298 section 2.4; Linux uses 200 ms) restarts from
// that window (RFC 5681 section 4.1) unless net.ipv4.tcp_slow_start_after_idle
// is 0. "Warm": the peer sent DATA within the 100 ms before.
constexpr uint64_t kLargeMessageBytes = 64 * 1024;
constexpr uint64_t kIdleRestartNs = 1'000'000'000;
constexpr uint64_t kWarmNs = 100'000'000;

int hopIndex(Hop h) { return static_cast<int>(h); }
int dirIndex(Direction d) { return static_cast<int>(d); }
double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

uint64_t callKey(uint64_t conn_id, int32_t down_id) {
  return (conn_id << 32) | static_cast<uint32_t>(down_id);
}

// Peer-chosen text kept per call or per connection: printable ASCII, cut
// (label_bounds.h), so that the JSON and the page never get raw bytes.
std::string clip(std::string_view v) { return boundedText(v, kMaxHeaderKept); }

// "1.2.3.4:5678" / "[::1]:5678" -> the address part.
std::string hostOf(std::string_view peer) {
  size_t colon = peer.rfind(':');
  std::string_view host = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::string(host);
}

std::string_view headerValue(const HeadersEvent& ev, std::string_view name) {
  for (size_t i = 0; i < ev.count; ++i) {
    if (ev.fields[i].name == name) return ev.fields[i].value;
  }
  return {};
}

bool hasHeader(const HeadersEvent& ev, std::string_view name) {
  for (size_t i = 0; i < ev.count; ++i) {
    if (ev.fields[i].name == name) return true;
  }
  return false;
}

// gRPC's default server ping policy (gRFC A8, gRPC's doc/keepalive.md;
// docs/findings.md): while calls are open a client PING at most every 5 min,
// without calls every 2 h (no pings without calls are permitted), and the
// GOAWAY ENHANCE_YOUR_CALM "too_many_pings" on the third early PING. The
// server's HEADERS or DATA reset the strikes; a connection's first PING is
// never early.
constexpr uint64_t kDefaultMinPingIntervalNs = 300'000'000'000ull;
constexpr uint64_t kIdleMinPingIntervalNs = 7'200'000'000'000ull;
constexpr uint32_t kMaxPingStrikes = 2;
// grpc-go's BDP probe payload (docs/findings.md): flow-control tuning, not keepalive.
constexpr uint8_t kGoBdpPing[8] = {0x02, 0x04, 0x10, 0x10, 0x09, 0x0e, 0x07, 0x07};
// A graceful GOAWAY's first phase names the largest stream id (RFC 9113 section 6.8).
constexpr int32_t kMaxStreamId = 0x7fffffff;
constexpr uint32_t kEnhanceYourCalm = 0xb;

bool isGoBdpPing(uint64_t opaque) {
  uint64_t v;
  std::memcpy(&v, kGoBdpPing, sizeof v);  // the event's opaque holds the 8 bytes as they came
  return opaque == v;
}

// GoawayEvent has no time: the workers' clock is uv_hrtime, CLOCK_MONOTONIC,
// which steady_clock reads on Linux. GOAWAYs are rare: off the hot path.
uint64_t monotonicNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct AnalysisObserver::Call {
  CallRecord rec;
  MethodStats* method = nullptr;
  std::array<GrpcDeframer, 2> deframer;
  bool server_reset = false;
  std::array<uint64_t, 2> blocked_since{};  // by Hop: a stall still open
  double deadline_s = 0;                    // the client's grpc-timeout, 0: none
  std::array<uint32_t, 2> largest_message{};  // by MessageDir, as the prefixes declared (complete or not)
  // The DATA the proxy received on each hop (the request from the client,
  // the response from the server), for HopStats::large_message_rtts_*: first
  // and last frame, bytes, and how long that peer had sent no DATA on the
  // connection before (idle_known: it had sent some before: a reused connection).
  std::array<uint64_t, 2> in_first_ns{}, in_last_ns{}, in_bytes{}, idle_before_ns{};
  std::array<bool, 2> idle_known{};
};

// The deframer's sink for one call and direction.
struct MessageSink {
  const AnalysisConfig& config;
  WorkerStats& stats;
  CallRecord& rec;
  MethodStats* method;
  int dir;
  uint32_t& largest;  // the call's largest declared message in this direction

  bool wantBody(uint32_t length, bool compressed) {
    // Called once per message at its prefix: a message the server refuses
    // for its size never completes, but its length is known here.
    largest = std::max(largest, length);
    if (!method || config.wire_sample_every == 0 || compressed || length > config.wire_sample_max) return false;
    return method->wire_seen[dir]++ % config.wire_sample_every == 0;
  }

  void onMessage(const GrpcMessage& m) {
    ++rec.messages[dir];
    rec.message_bytes[dir] += m.length;
    if (m.compressed) ++rec.compressed_messages[dir];
    if (dir == kResponse) {
      if (!rec.first_response_message_ns) rec.first_response_message_ns = m.last_ns;
      rec.last_response_message_ns = m.last_ns;
    }
    stats.message_transfer.observe(seconds(m.last_ns - m.first_ns));
    if (!method) return;
    ++method->messages[dir];
    method->message_bytes[dir] += m.length;
    if (m.compressed) ++method->compressed_messages[dir];
    method->message_size[dir].observe(static_cast<double>(m.length));
    if (m.body) method->wire[dir].add(m.body, m.length);
  }
};

AnalysisObserver::AnalysisObserver(uint32_t worker, const AnalysisConfig& config, uint64_t start_ns, EventTap* tap)
    : worker_(worker), config_(config), start_ns_(start_ns), tap_(tap) {}

AnalysisObserver::~AnalysisObserver() = default;

AnalysisObserver::Conn* AnalysisObserver::conn(uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : &it->second;
}

AnalysisObserver::Call* AnalysisObserver::call(uint64_t conn_id, Hop hop, int32_t stream_id, Conn* c) {
  if (stream_id == 0) return nullptr;
  int32_t down_id = stream_id;
  if (hop == Hop::kUpstream) {
    if (!c) c = conn(conn_id);
    if (!c) return nullptr;
    auto it = c->up_to_down.find(stream_id);
    if (it == c->up_to_down.end()) return nullptr;
    down_id = it->second;
  }
  auto it = calls_.find(callKey(conn_id, down_id));
  return it == calls_.end() ? nullptr : it->second.get();
}

MethodStats& AnalysisObserver::methodStats(const std::string& method) {
  auto it = stats_.methods.find(method);
  if (it != stats_.methods.end()) return it->second;
  // "other" is the overflow's label: a method of that name joins it rather
  // than exposing the same series twice.
  if (stats_.methods.size() >= config_.max_methods || method.size() > kMaxMethodName ||
      method == BoundedCounts::kOther) {
    return stats_.other_methods;
  }
  return stats_.methods[method];
}


void AnalysisObserver::onConnectionOpen(const ConnectionOpenEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  if (ev.conn.hop == Hop::kDownstream) {
    Conn& c = conns_[ev.conn.id];
    c.view.worker = worker_;
    c.view.id = ev.conn.id;
    uint64_t second = ev.at_ns > start_ns_ ? (ev.at_ns - start_ns_) / 1'000'000'000 : 0;
    std::string ip = hostOf(ev.peer);
    auto churn = stats_.churn.find(ip);
    if (churn == stats_.churn.end()) {
      if (stats_.churn.size() >= WorkerStats::kMaxClients) {
        auto oldest = std::min_element(stats_.churn.begin(), stats_.churn.end(), [](const auto& a, const auto& b) {
          return a.second.last_second < b.second.last_second;
        });
        stats_.churn.erase(oldest);
      }
      churn = stats_.churn.emplace(ip, ClientChurn{}).first;
    }
    churn->second.add(second);
  }
  Conn* c = conn(ev.conn.id);
  if (!c) return;
  LegView& leg = c->view.legs[h];
  leg.opened = true;
  leg.peer = boundedText(ev.peer, 64);
  leg.local = boundedText(ev.local, 64);
  leg.fd = ev.fd;
  leg.opened_ns = ev.at_ns;
  leg.setup_ns = ev.setup_ns;
  leg.dns_ns = ev.dns_ns;
  HopStats& hs = stats_.hops[h];
  ++hs.connections_opened;
  if (ev.conn.hop == Hop::kUpstream) hs.connect_time.observe(seconds(ev.setup_ns));
}

void AnalysisObserver::onConnectionClose(const ConnectionCloseEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  HopStats& hs = stats_.hops[h];
  ++hs.connections_closed;
  ++hs.close_reasons[static_cast<size_t>(ev.reason) % kCloseReasonCount];
  hs.streams_per_connection.observe(static_cast<double>(ev.streams));
  hs.bytes_in += ev.bytes_in;
  hs.bytes_out += ev.bytes_out;
  Conn* c = conn(ev.conn.id);
  if (!c) return;
  LegView& leg = c->view.legs[h];
  if (leg.opened_ns && ev.at_ns >= leg.opened_ns) hs.connection_lifetime.observe(seconds(ev.at_ns - leg.opened_ns));
  if (ev.conn.hop == Hop::kUpstream && leg.goaway_notice_ns) {
    // A graceful close the server began: calls still open now were cut at
    // its grace period (those the proxy answered already are counted in
    // onUpstreamFailure).
    uint64_t notice = leg.goaway_notice_ns;
    if (ev.at_ns >= notice) hs.goaway_drain.observe(seconds(ev.at_ns - notice));
    for (int32_t sid : c->open_calls) {
      auto it = calls_.find(callKey(ev.conn.id, sid));
      if (it != calls_.end() && !it->second->rec.answered_by_proxy) ++hs.calls_cut_after_notice;
    }
  }
  leg.closed = true;
  leg.fd = -1;
  leg.closed_ns = ev.at_ns;
  leg.close_reason = closeReasonName(ev.reason);
  leg.close_detail = clip(ev.detail);
  if (ev.conn.hop == Hop::kDownstream) {
    // Calls the client can no longer finish: a gRPC client reports UNAVAILABLE.
    std::vector<int32_t> open(c->open_calls.begin(), c->open_calls.end());
    for (int32_t sid : open) {
      auto it = calls_.find(callKey(ev.conn.id, sid));
      if (it == calls_.end()) continue;
      Call& call = *it->second;
      if (call.rec.status < 0) {
        call.rec.status = 14;
        call.rec.status_source = "connection_closed";
      }
      finishCall(call, ev.at_ns);
    }
  }
  const LegView& up = c->view.legs[kUp];
  if (c->view.legs[kDown].closed && (!up.opened || up.closed)) conns_.erase(ev.conn.id);
}

void AnalysisObserver::onSettings(const SettingsEvent& ev) {
  if (ev.ack) return;
  int h = hopIndex(ev.conn.hop);
  ++stats_.hops[h].settings_frames[dirIndex(ev.direction)];
  Conn* c = conn(ev.conn.id);
  if (!c) return;
  LegView& leg = c->view.legs[h];
  auto& into = ev.direction == Direction::kReceived ? leg.settings_received : leg.settings_sent;
  for (size_t i = 0; i < ev.count; ++i) {
    auto it = into.find(ev.entries[i].id);
    if (it != into.end()) {
      it->second = ev.entries[i].value;
    } else if (into.size() < LegView::kMaxSettingIds) {
      into.emplace(ev.entries[i].id, ev.entries[i].value);
    } else {
      ++leg.settings_ids_dropped;
    }
  }
}

void AnalysisObserver::onStreamOpen(const StreamEvent& ev) {
  if (ev.conn.hop != Hop::kDownstream) return;
  ++stats_.streams_opened;
  auto call = std::make_unique<Call>();
  call->rec.worker = worker_;
  call->rec.connection = ev.conn.id;
  call->rec.stream_id = ev.stream_id;
  call->rec.start_ns = ev.at_ns;
  if (Conn* c = conn(ev.conn.id)) {
    accountStreamLimit(*c, ev.at_ns);
    call->rec.peer = c->view.legs[kDown].peer;
    ++c->view.calls;
    ++c->view.legs[kDown].streams;
    c->open_calls.insert(ev.stream_id);
  }
  calls_[callKey(ev.conn.id, ev.stream_id)] = std::move(call);
}

void AnalysisObserver::onStreamMapped(const StreamMapEvent& ev) {
  if (Conn* c = conn(ev.conn.id)) {
    c->up_to_down[ev.upstream_id] = ev.downstream_id;
    ++c->view.legs[kUp].streams;
  }
  if (Call* call = this->call(ev.conn.id, Hop::kDownstream, ev.downstream_id)) {
    call->rec.upstream_stream_id = ev.upstream_id;
  }
}

void AnalysisObserver::onHeaders(const HeadersEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  ++stats_.hops[h].headers_frames[dirIndex(ev.direction)];
  Conn* cn = conn(ev.conn.id);
  if (cn) {
    cn->view.legs[h].frames_since_ping = true;
    if (cn->view.legs[h].first_headers_ns == 0) cn->view.legs[h].first_headers_ns = ev.at_ns;
    // The server's HEADERS reset its ping strikes.
    if (ev.conn.hop == Hop::kUpstream && ev.direction == Direction::kReceived) {
      cn->view.legs[kDown].server_frames_since_ping = true;
    }
  }
  Call* c = call(ev.conn.id, ev.conn.hop, ev.stream_id, cn);
  if (!c) return;
  CallRecord& r = c->rec;
  bool received = ev.direction == Direction::kReceived;
  bool has_status = hasHeader(ev, "grpc-status");
  if (ev.conn.hop == Hop::kDownstream && received) {
    if (ev.trailers) {
      r.request_end_ns = ev.at_ns;
      return;
    }
    std::string_view path = headerValue(ev, ":path");
    if (!path.empty() && path.front() == '/' && path.find('/', 1) != std::string_view::npos) path.remove_prefix(1);
    // The method becomes a label: printable, capped in length and in number (methodStats).
    r.method = boundedText(path, kMaxMethodName + 1);
    r.authority = clip(withoutUserinfo(headerValue(ev, ":authority")));
    r.content_type = clip(headerValue(ev, "content-type"));
    r.user_agent = clip(headerValue(ev, "user-agent"));
    r.grpc_encoding = clip(headerValue(ev, "grpc-encoding"));
    r.grpc_accept_encoding = clip(headerValue(ev, "grpc-accept-encoding"));
    r.grpc_timeout = clip(headerValue(ev, "grpc-timeout"));
    if (!r.grpc_timeout.empty()) c->deadline_s = std::max(0.0, parseGrpcTimeout(r.grpc_timeout));
    if (ev.end_stream) r.request_end_ns = ev.at_ns;
    c->method = &methodStats(r.method);
    if (r.method.size() > kMaxMethodName) r.method.resize(kMaxMethodName);
    ++c->method->started;
    ++stats_.calls_started;
  } else if (ev.conn.hop == Hop::kDownstream) {
    // What the client got: the authoritative status, whoever produced it.
    if (!r.response_headers_ns) r.response_headers_ns = ev.at_ns;
    if (has_status) {
      r.trailers_ns = ev.at_ns;
      r.status = parseGrpcStatus(headerValue(ev, "grpc-status"));
      r.status_source = "trailers";
      r.grpc_message = boundedText(headerValue(ev, "grpc-message"), CallRecord::kMaxMessage);
    }
  } else if (!received) {
    if (!ev.trailers && !r.request_headers_upstream_ns) r.request_headers_upstream_ns = ev.at_ns;
    if (ev.end_stream || ev.trailers) r.request_end_upstream_ns = ev.at_ns;
  } else {
    if (!r.response_headers_upstream_ns) r.response_headers_upstream_ns = ev.at_ns;
    if (has_status) r.trailers_upstream_ns = ev.at_ns;
  }
}

void AnalysisObserver::onData(const DataEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  int d = dirIndex(ev.direction);
  HopStats& hs = stats_.hops[h];
  hs.data_bytes[d] += ev.length;
  Conn* cn = conn(ev.conn.id);
  uint64_t idle_ns = 0;
  bool idle_known = false;
  if (cn) {
    LegView& leg = cn->view.legs[h];
    leg.data_bytes[d] += ev.length;
    leg.frames_since_ping = true;
    if (leg.first_data_ns == 0) leg.first_data_ns = ev.at_ns;
    if (ev.direction == Direction::kSent) {
      if (leg.last_data_sent_ns && ev.at_ns > leg.last_data_sent_ns) {
        uint64_t gap = ev.at_ns - leg.last_data_sent_ns;
        if (gap <= kSendGapNs || leg.blocked_since_data || leg.blocked_streams > 0) hs.send_active_ns += gap;
      }
      leg.last_data_sent_ns = ev.at_ns;
      leg.blocked_since_data = false;
    }
    if (ev.direction == Direction::kReceived && ev.length > 0) {
      idle_known = leg.last_data_received_ns != 0;
      if (idle_known && ev.at_ns > leg.last_data_received_ns) idle_ns = ev.at_ns - leg.last_data_received_ns;
      leg.last_data_received_ns = ev.at_ns;
    }
    // The server's DATA resets its ping strikes.
    if (ev.conn.hop == Hop::kUpstream && ev.direction == Direction::kReceived) {
      cn->view.legs[kDown].server_frames_since_ping = true;
    }
  }
  if (ev.direction == Direction::kSent) ++hs.data_frames[d];
  Call* c = call(ev.conn.id, ev.conn.hop, ev.stream_id, cn);
  if (!c) return;
  if (ev.direction == Direction::kReceived && ev.length > 0) {
    if (c->in_bytes[h] == 0) {
      c->in_first_ns[h] = ev.at_ns;
      c->idle_before_ns[h] = idle_ns;
      c->idle_known[h] = idle_known;
    }
    c->in_bytes[h] += ev.length;
    c->in_last_ns[h] = ev.at_ns;
  }
  CallRecord& r = c->rec;
  if (ev.direction == Direction::kReceived) {
    int dir = ev.conn.hop == Hop::kDownstream ? kRequest : kResponse;
    if (ev.length > 0 && ev.bytes) {
      MessageSink sink{config_, stats_, r, c->method, dir, c->largest_message[dir]};
      c->deframer[dir].feed(ev.bytes, ev.length, ev.at_ns, sink);
    }
    if (ev.end_stream && dir == kRequest) r.request_end_ns = ev.at_ns;
  } else if (ev.conn.hop == Hop::kUpstream) {
    if (ev.length > 0 && !r.first_request_byte_upstream_ns) r.first_request_byte_upstream_ns = ev.at_ns;
    if (ev.end_stream) r.request_end_upstream_ns = ev.at_ns;
  }
}

void AnalysisObserver::onRstStream(const RstStreamEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  ++stats_.hops[h].rst[dirIndex(ev.direction)][h2ErrorBucket(ev.error_code)];
  Call* c = call(ev.conn.id, ev.conn.hop, ev.stream_id);
  if (!c) return;
  if (ev.conn.hop == Hop::kUpstream) {
    if (ev.direction == Direction::kReceived) c->server_reset = true;
    return;
  }
  c->rec.reset = true;
  c->rec.reset_code = ev.error_code;
  c->rec.reset_by = ev.direction == Direction::kReceived ? "client" : (c->server_reset ? "server" : "proxy");
}

void AnalysisObserver::onStreamClose(const StreamCloseEvent& ev) {
  if (ev.conn.hop == Hop::kUpstream) {
    if (Conn* c = conn(ev.conn.id)) c->up_to_down.erase(ev.stream_id);
    return;
  }
  ++stats_.streams_closed;
  Call* c = call(ev.conn.id, Hop::kDownstream, ev.stream_id);
  if (!c) return;
  CallRecord& r = c->rec;
  if (r.status < 0) {
    if (r.reset) {
      r.status = grpcStatusForReset(r.reset_code);
      r.status_source = "reset";
      // A gRPC client whose deadline passes resets the stream with CANCEL
      // and reports DEADLINE_EXCEEDED (PROTOCOL-HTTP2.md): a client CANCEL
      // at the deadline (less the leg to the proxy and timer slack) is that.
      constexpr uint32_t kCancel = 0x8;  // RFC 9113 section 7
      double elapsed = seconds(ev.at_ns > r.start_ns ? ev.at_ns - r.start_ns : 0);
      if (r.reset_code == kCancel && r.reset_by == "client" && c->deadline_s > 0 &&
          elapsed + std::max(0.005, 0.02 * c->deadline_s) >= c->deadline_s) {
        r.status = 4;
        r.status_source = "deadline";
      }
    } else if (ev.error_code != 0) {
      r.status = grpcStatusForReset(ev.error_code);
      r.status_source = "stream_close";
    } else {
      r.status = 2;  // closed without a grpc-status: not a gRPC response
      r.status_source = "stream_close";
    }
  }
  finishCall(*c, ev.at_ns);
}

void AnalysisObserver::finishCall(Call& c, uint64_t at_ns) {
  CallRecord& r = c.rec;
  r.end_ns = at_ns;
  // A stall that lasted until the stream closed ends with the call (the
  // relay reports its end after the close).
  for (uint64_t since : c.blocked_since) {
    if (since == 0 || at_ns < since) continue;
    r.stall_ns += at_ns - since;
    if (c.method) c.method->stall_ns += at_ns - since;
  }
  int status = r.status < 0 ? 2 : r.status;
  ++stats_.calls_finished;
  ++stats_.by_status[static_cast<size_t>(status)];
  double duration = seconds(r.durationNs());
  stats_.call_duration.observe(duration);
  stats_.proxy_time.observe(seconds(r.proxyNs()));
  if (uint64_t up = r.upstreamNs()) stats_.upstream_time.observe(seconds(up));
  if (r.response_headers_ns > r.start_ns) stats_.response_headers_time.observe(seconds(r.response_headers_ns - r.start_ns));
  if (MethodStats* m = c.method) {
    ++m->finished;
    ++m->by_status[static_cast<size_t>(status)];
    m->duration.observe(duration);
    m->duration_by_status.try_emplace(status, HistogramUnit::kSeconds).first->second.observe(duration);
    if (uint64_t up = r.upstreamNs()) m->upstream_time.observe(seconds(up));
    if (c.deadline_s > 0) {
      m->deadline.observe(c.deadline_s);
      if (status == 4) m->deadline_exceeded_deadline.observe(c.deadline_s);
    }
    if (status == 8) {
      // RESOURCE_EXHAUSTED is also a quota's answer: count it as a size
      // failure only when the message says so or the request passed gRPC's
      // default 4 MiB receive limit.
      constexpr uint32_t kDefaultReceiveLimit = 4u << 20;
      uint64_t limit = receiveLimitFromMessage(r.grpc_message);
      if (limit > 0 || c.largest_message[kRequest] > kDefaultReceiveLimit) {
        m->exhausted_request_size.observe(static_cast<double>(c.largest_message[kRequest]));
        m->receive_limit_bytes = std::max(m->receive_limit_bytes, limit);
      }
    }
  }
  // replace: no byte of a record may throw here, on the loop thread (its texts are bounded already).
  if (tap_ && tap_->active()) {
    tap_->publish(worker_, r.toJson(wallMs()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (Conn* cn = conn(r.connection)) {
    // Large messages on reused connections: how many round trips their DATA took to arrive.
    for (int h = 0; h < 2; ++h) {
      const TcpInfoSample& tcp = cn->view.legs[h].tcp;
      uint32_t rtt_us = tcp.min_rtt_us ? tcp.min_rtt_us : tcp.rtt_us;
      if (c.in_bytes[h] < kLargeMessageBytes || !c.idle_known[h] || !tcp.valid || rtt_us == 0) continue;
      double rtts = static_cast<double>(c.in_last_ns[h] - c.in_first_ns[h]) / (rtt_us * 1e3);
      if (c.idle_before_ns[h] >= kIdleRestartNs) {
        stats_.hops[h].large_message_rtts_after_idle.observe(rtts);
      } else if (c.idle_before_ns[h] <= kWarmNs) {
        stats_.hops[h].large_message_rtts_warm.observe(rtts);
      }
    }
    accountStreamLimit(*cn, at_ns);
    if (r.upstream_stream_id) cn->up_to_down.erase(r.upstream_stream_id);
    cn->open_calls.erase(r.stream_id);
  }
  calls_.erase(callKey(r.connection, r.stream_id));  // c is gone from here on
}

void AnalysisObserver::onWindowUpdate(const WindowUpdateEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  int d = dirIndex(ev.direction);
  HopStats& hs = stats_.hops[h];
  ++hs.window_updates[d];
  hs.window_update_bytes[d] += ev.increment;
  if (Conn* c = conn(ev.conn.id)) {
    LegView& leg = c->view.legs[h];
    ++leg.window_updates[d];
    leg.window_update_bytes[d] += ev.increment;
    if (ev.direction == Direction::kReceived && ev.stream_id == 0) leg.conn_window_increments_received += ev.increment;
  }
}

void AnalysisObserver::onFlowControl(const FlowControlEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  HopStats& hs = stats_.hops[h];
  Conn* cn = conn(ev.conn.id);
  Call* c = call(ev.conn.id, ev.conn.hop, ev.stream_id, cn);
  if (ev.blocked) {
    ++hs.stalls;
    if (ev.stream_id == 0 || ev.connection_window) ++hs.connection_stalls;
    if (cn) {
      LegView& leg = cn->view.legs[h];
      ++leg.stalls;
      ++leg.blocked_streams;
      leg.blocked_since_data = true;
    }
    if (c) {
      ++c->rec.stalls;
      if (c->method) ++c->method->stalls;
      c->blocked_since[h] = ev.at_ns;
    }
    return;
  }
  hs.stall_ns += ev.blocked_ns;
  if (cn) {
    LegView& leg = cn->view.legs[h];
    leg.stall_ns += ev.blocked_ns;
    if (leg.blocked_streams > 0) --leg.blocked_streams;
  }
  if (c) {
    c->rec.stall_ns += ev.blocked_ns;
    if (c->method) c->method->stall_ns += ev.blocked_ns;
    c->blocked_since[h] = 0;
  }
}

void AnalysisObserver::onPing(const PingEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  int d = dirIndex(ev.direction);
  HopStats& hs = stats_.hops[h];
  Conn* c = conn(ev.conn.id);
  LegView* leg = c ? &c->view.legs[h] : nullptr;
  if (ev.ack) {
    ++hs.ping_acks[d];
    if (leg) ++leg->ping_acks[d];
  } else {
    ++hs.pings[d];
    if (leg) ++leg->pings[d];
    if (ev.direction == Direction::kReceived && ev.conn.hop == Hop::kDownstream && c) classifyClientPing(*c, ev);
    if (ev.direction == Direction::kReceived && leg) {
      if (leg->last_ping_received_ns && ev.at_ns >= leg->last_ping_received_ns) {
        hs.ping_interval.observe(seconds(ev.at_ns - leg->last_ping_received_ns));
      }
      if (!leg->frames_since_ping && leg->last_ping_received_ns) {
        ++hs.pings_without_data;
        ++leg->pings_without_data;
      }
      leg->last_ping_received_ns = ev.at_ns;
      leg->frames_since_ping = false;
    }
  }
  if (ev.rtt_ns > 0) {
    hs.ping_rtt.observe(seconds(ev.rtt_ns));
    if (leg) {
      leg->last_rtt_ns = ev.rtt_ns;
      leg->min_rtt_ns = leg->min_rtt_ns ? std::min(leg->min_rtt_ns, ev.rtt_ns) : ev.rtt_ns;
      leg->max_rtt_ns = std::max(leg->max_rtt_ns, ev.rtt_ns);
    }
  }
}

// Before last_ping_received_ns moves: the interval runs from the client's
// previous PING of any kind, as the server's policy measures it.
void AnalysisObserver::classifyClientPing(Conn& c, const PingEvent& ev) {
  LegView& leg = c.view.legs[kDown];
  HopStats& hs = stats_.hops[kDown];
  bool reset = leg.server_frames_since_ping;
  leg.server_frames_since_ping = false;
  leg.calls_at_last_ping = static_cast<uint32_t>(c.open_calls.size());
  if (isGoBdpPing(ev.opaque)) {
    ++hs.bdp_pings;
    ++leg.bdp_pings;
    return;
  }
  if (reset) {
    ++hs.pings_after_server_frames;
    ++leg.pings_after_server_frames;
    leg.ping_strikes = 0;
    return;
  }
  ++hs.keepalive_pings;
  ++leg.keepalive_pings;
  uint64_t previous = leg.last_ping_received_ns;
  leg.last_keepalive_ping_ns = ev.at_ns;
  if (!previous || ev.at_ns < previous) return;
  uint64_t interval = ev.at_ns - previous;
  hs.keepalive_ping_interval.observe(seconds(interval));
  leg.last_keepalive_interval_ns = interval;
  uint64_t allowed = c.open_calls.empty() ? kIdleMinPingIntervalNs : kDefaultMinPingIntervalNs;
  if (interval >= allowed) return;
  ++leg.ping_strikes;
  // One strike past the GOAWAY's and the server still talks: its policy is
  // laxer than the default (a shorter minimum, or unlimited strikes).
  const LegView& up = c.view.legs[kUp];
  if (leg.ping_strikes > kMaxPingStrikes + 1 && !leg.strikes_tolerated &&
      !(up.goaway && up.goaway_code == kEnhanceYourCalm)) {
    leg.strikes_tolerated = true;
    ClientPings& p = clientPings(leg.peer);
    if (!p.tolerated_interval_ns || interval < p.tolerated_interval_ns) p.tolerated_interval_ns = interval;
    p.last_ns = std::max(p.last_ns, ev.at_ns);
  }
}

ClientPings& AnalysisObserver::clientPings(const std::string& peer) {
  std::string ip = hostOf(peer);
  auto it = stats_.pings_by_client.find(ip);
  if (it != stats_.pings_by_client.end()) return it->second;
  if (stats_.pings_by_client.size() >= WorkerStats::kMaxClients) {
    auto oldest = std::min_element(stats_.pings_by_client.begin(), stats_.pings_by_client.end(),
                                   [](const auto& a, const auto& b) { return a.second.last_ns < b.second.last_ns; });
    stats_.pings_by_client.erase(oldest);
  }
  return stats_.pings_by_client.emplace(ip, ClientPings{}).first->second;
}

// A GOAWAY from the server: too_many_pings (for the client's record), or a
// phase of the graceful two-phase close (gRFC A9).
void AnalysisObserver::onServerGoaway(Conn& c, const GoawayEvent& ev) {
  LegView& up = c.view.legs[kUp];
  const LegView& down = c.view.legs[kDown];
  HopStats& hs = stats_.hops[kUp];
  uint64_t now = monotonicNs();
  bool refused_before = up.goaway && up.goaway_code == kEnhanceYourCalm;  // one record per connection
  if (ev.error_code == kEnhanceYourCalm && ev.debug_data == "too_many_pings" && !refused_before) {
    ClientPings::Goaway g;
    g.at_ns = now;
    g.interval_ns = down.last_keepalive_interval_ns;
    g.calls_active = static_cast<uint32_t>(c.open_calls.size());
    g.pings = down.pings[static_cast<int>(Direction::kReceived)];
    clientPings(down.peer).addGoaway(g);
    return;
  }
  if (ev.error_code != 0) return;
  if (ev.last_stream_id == kMaxStreamId && !up.goaway_notice_ns) {
    up.goaway_notice_ns = now;
    ++hs.goaway_notices;
    if (up.opened_ns && now >= up.opened_ns) hs.goaway_notice_age.observe(seconds(now - up.opened_ns));
  } else if (up.goaway_notice_ns && ev.last_stream_id != kMaxStreamId && !up.goaway_final_after_notice) {
    up.goaway_final_after_notice = true;
    ++hs.goaway_two_phase;
  }
}

void AnalysisObserver::onGoaway(const GoawayEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  HopStats& hs = stats_.hops[h];
  ++hs.goaway[dirIndex(ev.direction)][h2ErrorBucket(ev.error_code)];
  if (ev.direction == Direction::kReceived && !ev.debug_data.empty()) hs.goaway_debug.add(ev.debug_data);
  if (Conn* c = conn(ev.conn.id)) {
    if (ev.conn.hop == Hop::kUpstream && ev.direction == Direction::kReceived) onServerGoaway(*c, ev);
    LegView& leg = c->view.legs[h];
    leg.goaway = true;
    leg.goaway_direction = directionName(ev.direction);
    leg.goaway_code = ev.error_code;
    leg.goaway_last_stream = ev.last_stream_id;
    leg.goaway_debug = boundedText(ev.debug_data, 256);
  }
}

void AnalysisObserver::onViolation(const ViolationEvent& ev) { stats_.violations.add(ev.kind); }

void AnalysisObserver::onUpstreamFailure(const UpstreamFailureEvent& ev) {
  ++stats_.upstream_failures;
  stats_.upstream_failure_causes.add(ev.cause);
  Conn* cn = conn(ev.conn.id);
  Call* c = call(ev.conn.id, Hop::kDownstream, ev.stream_id, cn);
  if (!c || c->rec.answered_by_proxy) return;
  c->rec.answered_by_proxy = true;
  // The server closed after its graceful GOAWAY with this call still open: cut at the grace period.
  if (cn && cn->view.legs[kUp].goaway_notice_ns) ++stats_.hops[kUp].calls_cut_after_notice;
}

void AnalysisObserver::onTlsHandshake(const TlsHandshakeEvent& ev) {
  int h = hopIndex(ev.conn.hop);
  HopStats& hs = stats_.hops[h];
  hs.tls_handshake.observe(seconds(ev.handshake_ns));
  // Labels: a fixed set each (an upstream server picks the ALPN it answers).
  ++hs.tls_handshakes[TlsKey{tlsVersionLabel(ev.version), alpnLabel(ev.alpn), ev.resumed}];
  Conn* c = conn(ev.conn.id);
  if (!c) return;
  TlsView& t = c->view.legs[h].tls;
  t.present = true;
  t.version = clip(ev.version);
  t.cipher = clip(ev.cipher);
  t.group = clip(ev.group);
  t.alpn = clip(ev.alpn);  // ALPN ids and SNI are the peer's bytes (RFC 7301, RFC 6066)
  t.sni = clip(ev.sni);
  t.resumed = ev.resumed;
  t.peer_subject = clip(ev.peer_subject);
  t.peer_issuer = clip(ev.peer_issuer);
  t.peer_days_left = ev.peer_days_left;
  t.handshake_ns = ev.handshake_ns;
  t.client_hello_ns = ev.client_hello_ns;
  t.server_hello_ns = ev.server_hello_ns;
  t.certificate_ns = ev.certificate_ns;
  t.verify_ns = ev.verify_ns;
  t.offered_sni = clip(ev.offered_sni);
  t.offered_alpn = clip(ev.offered_alpn);
  t.offered_versions = clip(ev.offered_versions);
  t.offered_groups = clip(ev.offered_groups);
  t.offered_ciphers = ev.offered_ciphers;
  t.ja3 = boundedText(ev.ja3, 1024);
  t.ja3_md5 = boundedText(ev.ja3_md5, 64);
}

void AnalysisObserver::accountStreamLimit(Conn& c, uint64_t now_ns) {
  uint64_t since = c.stream_limit_mark_ns;
  if (now_ns < since) return;  // an event stamped before the last tick: counted already
  c.stream_limit_mark_ns = now_ns;
  size_t open = c.open_calls.size();
  if (since == 0 || open == 0) return;
  uint64_t dt = now_ns - since;
  constexpr uint16_t kMaxConcurrentStreams = 0x3;  // RFC 9113 section 6.5.2
  // Downstream: what we offered the client; upstream: what the server allows us.
  const auto& offered = c.view.legs[kDown].settings_sent;
  const auto& allowed = c.view.legs[kUp].settings_received;
  for (int h = 0; h < 2; ++h) {
    const auto& settings = h == kDown ? offered : allowed;
    auto it = settings.find(kMaxConcurrentStreams);
    if (it == settings.end() || it->second == 0) continue;
    HopStats& hs = stats_.hops[h];
    hs.stream_limit_busy_ns += dt;
    if (open >= it->second) hs.stream_limit_full_ns += dt;
  }
}

void AnalysisObserver::onTick(uint64_t now_ns) {
  // Ticks come from a repeating timer of tick_ms: an interval beyond that is
  // how late the loop ran the timer (busy, or the process was not scheduled).
  if (last_tick_ns_ != 0 && now_ns > last_tick_ns_ && config_.tick_ms > 0) {
    uint64_t period_ns = uint64_t{config_.tick_ms} * 1'000'000;
    uint64_t interval = now_ns - last_tick_ns_;
    stats_.loop_lag.observe(seconds(interval > period_ns ? interval - period_ns : 0));
  }
  last_tick_ns_ = now_ns;
  for (auto& [id, c] : conns_) {
    accountStreamLimit(c, now_ns);
    for (int h = 0; h < 2; ++h) {
      LegView& leg = c.view.legs[h];
      if (!leg.opened || leg.closed || leg.fd < 0) continue;
      TcpInfoSample s = readTcpInfo(leg.fd, now_ns);
      if (!s.valid) continue;
      HopStats& hs = stats_.hops[h];
      ++hs.tcp_samples;
      hs.tcp_rtt.observe(static_cast<double>(s.rtt_us) / 1e6);
      if (s.total_retrans > leg.tcp_retrans_seen) hs.tcp_retransmits += s.total_retrans - leg.tcp_retrans_seen;
      leg.tcp_retrans_seen = s.total_retrans;
      if (s.segs_out > leg.tcp_segs_out_seen) hs.tcp_segs_out += s.segs_out - leg.tcp_segs_out_seen;
      leg.tcp_segs_out_seen = s.segs_out;
      if (leg.tcp.valid) {
        auto grow = [](uint64_t now, uint64_t before) { return now > before ? now - before : 0; };
        hs.tcp_busy_us += grow(s.busy_us, leg.tcp.busy_us);
        hs.tcp_rwnd_limited_us += grow(s.rwnd_limited_us, leg.tcp.rwnd_limited_us);
        hs.tcp_sndbuf_limited_us += grow(s.sndbuf_limited_us, leg.tcp.sndbuf_limited_us);
      }
      leg.tcp = s;
    }
  }
}

WorkerSnapshot AnalysisObserver::snapshot(bool with_methods, bool with_connections, size_t max_connections) const {
  WorkerSnapshot snap;
  snap.worker = worker_;
  snap.stats = with_methods ? stats_ : stats_.totalsOnly();
  if (tap_) snap.stats.tap_dropped = tap_->dropped(worker_);
  snap.live_connections = conns_.size();
  snap.active_calls = calls_.size();
  if (with_connections) {
    for (const auto& [id, c] : conns_) {
      if (snap.connections.size() >= max_connections) break;
      snap.connections.push_back(c.view);
    }
  }
  return snap;
}

}  // namespace grpcscope
