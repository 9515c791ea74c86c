// ConnectionRelay lifecycle: upstream connect, session start, the flush loop,
// timers and teardown. Stream and control-frame handling live in
// relay_streams.cc and relay_control.cc.
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
  }
  return facts;
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

// ---------------------------------------------------------------------------
// Upstream connection

void ConnectionRelay::connectUpstream() {
  uint64_t now = nowNs();
  const std::string target = config_.upstream.toString();
  // One attempt at a time after a failure (upstream_backoff.h): the others
  // are answered at once, naming the last cause.
  switch (ctx_.backoff->begin(now, &backoff_ticket_)) {
    case UpstreamBackoff::Verdict::kGo:
      break;
    case UpstreamBackoff::Verdict::kBackingOff:
      onUpstreamFailed("upstream " + target + " unavailable: " + ctx_.backoff->lastError() +
                           " (next connection attempt in " +
                           std::to_string(ctx_.backoff->msUntilNextAttempt(now)) + " ms)",
                       false);
      return;
    case UpstreamBackoff::Verdict::kProbeInFlight:
      onUpstreamFailed("upstream " + target + " unavailable: " + ctx_.backoff->lastError() +
                           " (a new connection attempt is in progress)",
                       false);
      return;
  }
  state_ = State::kConnecting;
  connect_started_ns_ = now;
  if (config_.timeouts.upstream_connect_ms > 0) {
    upstream_deadline_ = now + msToNs(config_.timeouts.upstream_connect_ms);
  }
  if (ctx_.upstream_factory) {
    upstream_.transport = ctx_.upstream_factory();
    upstream_.transport->setHandler(&upstream_);
    upstream_.transport_open = true;
    attachUpstream(0);
    return;
  }
  // Address literals skip the resolver (the common sidecar case: 127.0.0.1).
  sockaddr_storage ss{};
  const std::string& host = config_.upstream.host;
  if (uv_ip4_addr(host.c_str(), config_.upstream.port, reinterpret_cast<sockaddr_in*>(&ss)) == 0 ||
      uv_ip6_addr(host.c_str(), config_.upstream.port, reinterpret_cast<sockaddr_in6*>(&ss)) == 0) {
    upstream_addrs_.assign(1, ss);
    connectToNext();
    return;
  }
  resolveAndConnect();
}

void ConnectionRelay::resolveAndConnect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;  // IPv6 and IPv4, in the resolver's order (RFC 6724)
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(config_.upstream.port);
  dns_pending_ = true;
  int rc = uv_getaddrinfo(
      ctx_.loop, &dns_req_,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* self = static_cast<ConnectionRelay*>(req->data);
        self->dns_pending_ = false;
        self->dns_ns_ = nowNs() - self->connect_started_ns_;
        if (self->state_ != State::kConnecting) {
          // Timed out or closed meanwhile.
          if (res) uv_freeaddrinfo(res);
          self->maybeRetire();
          return;
        }
        for (addrinfo* ai = res; status == 0 && ai; ai = ai->ai_next) {
          if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(sockaddr_storage)) {
            continue;
          }
          sockaddr_storage ss{};
          std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
          self->upstream_addrs_.push_back(ss);
        }
        if (res) uv_freeaddrinfo(res);
        if (status < 0 || self->upstream_addrs_.empty()) {
          self->onUpstreamFailed("upstream " + self->config_.upstream.toString() + ": cannot resolve host: " +
                                     (status < 0 ? uv_strerror(status) : "no IPv4 or IPv6 address"),
                                 true);
        } else {
          self->connectToNext();
        }
        self->flush();
      },
      config_.upstream.host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    dns_pending_ = false;
    onUpstreamFailed("upstream " + config_.upstream.toString() + ": cannot resolve host: " + uv_strerror(rc), true);
  }
}

// Tries upstream_addrs_[upstream_addr_next_]; the next one on failure, in
// order, as gRPC's pick_first does, all within --upstream-connect-timeout.
void ConnectionRelay::connectToNext() {
  const auto* addr = reinterpret_cast<const sockaddr*>(&upstream_addrs_[upstream_addr_next_++]);
  const std::string address = formatSockaddr(addr);
  if (upstream_.transport) {
    // The socket of the address that failed: nobody owns it now; it frees
    // itself in its close callback, and never calls the leg again.
    TcpTransport::closeAndDelete(
        std::unique_ptr<TcpTransport>(static_cast<TcpTransport*>(upstream_.transport.release())));
  }
  auto tcp = std::make_unique<TcpTransport>(ctx_.loop);
  TcpTransport* raw = tcp.get();
  upstream_.transport = std::move(tcp);
  upstream_.transport->setHandler(&upstream_);
  upstream_.transport_open = true;
  int rc = raw->connect(addr, [this, address](int status) {
    onUpstreamConnect(status, address);
    flush();
  });
  if (rc != 0) onUpstreamConnect(rc, address);
}

void ConnectionRelay::onUpstreamConnect(int status, const std::string& address) {
  if (status == UV_ECANCELED || state_ != State::kConnecting) return;
  const std::string target = config_.upstream.toString();
  const size_t count = upstream_addrs_.size();
  if (status < 0) {
    upstream_addrs_tried_ += (upstream_addrs_tried_.empty() ? "" : ", ") + address + ": " + uv_strerror(status);
    if (upstream_addr_next_ < count) {
      spdlog::debug("[W{}][C{}] upstream {}: {}: {}; trying the next address ({} of {})", ctx_.worker_id, id_,
                    target, address, uv_strerror(status), upstream_addr_next_ + 1, count);
      connectToNext();
      return;
    }
    std::string cause = "upstream " + target + ": connect failed: " + uv_strerror(status);
    if (count > 1) cause += " (tried " + upstream_addrs_tried_ + ")";
    onUpstreamFailed(cause, true);
    return;
  }
  if (upstream_addr_next_ > 1) {
    spdlog::info("[W{}][C{}] upstream {} connected to {} (address {} of {}; {})", ctx_.worker_id, id_, target,
                 address, upstream_addr_next_, count, upstream_addrs_tried_);
  } else {
    spdlog::debug("[W{}][C{}] upstream {} connected to {}", ctx_.worker_id, id_, target, address);
  }
  if (ctx_.upstream_tls) {
    startUpstreamTls(nowNs() - connect_started_ns_);
  } else {
    attachUpstream(nowNs() - connect_started_ns_);
  }
}

void ConnectionRelay::startUpstreamTls(uint64_t tcp_ns) {
  const UpstreamTlsConfig& tls_config = config_.upstream_tls;
  std::string name = tls_config.sni.empty() ? config_.upstream.host : tls_config.sni;
  auto tls = std::make_unique<TlsTransport>(std::move(upstream_.transport), *ctx_.upstream_tls, name);
  TlsTransport* raw = tls.get();
  tls->setHandler(&upstream_);
  raw->on_handshake = [this, tcp_ns](const TlsFacts& facts) {
    emitTlsHandshake(upstream_, facts);
    attachUpstream(tcp_ns);
    flush();  // the client preface and SETTINGS go out now
  };
  upstream_.transport = std::move(tls);
  raw->startHandshake();
}

void ConnectionRelay::emitTlsHandshake(Leg& leg, const TlsFacts& facts) {
  TlsHandshakeEvent ev;
  ev.conn = leg.ref();
  ev.at_ns = facts.finished_ns;
  ev.handshake_ns = facts.finished_ns - facts.started_ns;
  ev.version = facts.version;
  ev.cipher = facts.cipher;
  ev.group = facts.group;
  ev.alpn = facts.alpn;
  ev.sni = facts.sni;
  ev.resumed = facts.resumed;
  ev.peer_subject = facts.peer_subject;
  ev.peer_issuer = facts.peer_issuer;
  ev.peer_days_left = facts.peer_days_left;
  auto since = [&](uint64_t t) { return t >= facts.started_ns ? t - facts.started_ns : 0; };
  if (facts.client_hello_ns) ev.client_hello_ns = since(facts.client_hello_ns);
  if (facts.server_hello_ns) ev.server_hello_ns = since(facts.server_hello_ns);
  if (facts.certificate_ns) ev.certificate_ns = since(facts.certificate_ns);
  ev.verify_ns = facts.verify_ns;
  std::string alpn, versions, groups;
  const TlsFacts::ClientHello& hello = facts.client_hello;
  for (const std::string& a : hello.alpn) alpn += (alpn.empty() ? "" : ",") + a;
  for (uint16_t v : hello.versions) versions += (versions.empty() ? "" : ",") + std::to_string(v);
  for (uint16_t g : hello.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
  if (hello.seen) {
    ev.offered_sni = hello.sni;
    ev.offered_alpn = alpn;
    ev.offered_versions = versions;
    ev.offered_ciphers = hello.ciphers.size();
    ev.offered_groups = groups;
    ev.ja3 = hello.ja3;
    ev.ja3_md5 = hello.ja3_md5;
  }
  observer_.onTlsHandshake(ev);
}

void ConnectionRelay::attachUpstream(uint64_t setup_ns) {
  upstream_setup_ns_ = setup_ns;
  ConnectionOpenEvent ev;
  ev.conn = upstream_.ref();
  ev.at_ns = nowNs();
  ev.peer = upstream_.transport->peerAddress();
  ev.local = upstream_.transport->localAddress();
  ev.fd = upstream_.transport->fd();
  ev.setup_ns = setup_ns;
  ev.dns_ns = dns_ns_;
  observer_.onConnectionOpen(ev);

  nghttp2_session_client_new2(&upstream_.session, relayCallbacks(), &upstream_, ctx_.client_options);
  // Push is never relayed (gRPC does not use it). The client's own SETTINGS are
  // offered upstream once they arrive (relay_control.cc).
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, config_.limits.max_header_list_size},
  };
  nghttp2_submit_settings(upstream_.session, NGHTTP2_FLAG_NONE, iv, 2);
  state_ = State::kUpstreamHandshake;
  // Reading starts from updateReading() at the end of the next flush.
}

void ConnectionRelay::onUpstreamReady(const nghttp2_settings& settings) {
  ctx_.backoff->onSuccess(&backoff_ticket_);
  upstream_deadline_ = 0;
  state_ = State::kRelaying;
  // The client's first view is the server's SETTINGS (RFC 9113 section 6.5.2),
  // plus our own bounds where the server set none.
  nghttp2_settings_entry iv[10];
  size_t n = mirrorableSettings(Hop::kUpstream, settings, iv);
  auto has = [&](int32_t id) {
    for (size_t i = 0; i < n; ++i) {
      if (iv[i].settings_id == id) return true;
    }
    return false;
  };
  if (!has(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)) {
    iv[n++] = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, config_.limits.max_concurrent_streams};
  }
  if (!has(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE)) {
    iv[n++] = {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, config_.limits.max_header_list_size};
  }
  startDownstream(iv, n);
}

void ConnectionRelay::onUpstreamFailed(const std::string& cause, bool count_for_backoff) {
  if (state_ == State::kUpstreamFailed || state_ == State::kClosing) return;
  uint64_t now = nowNs();
  // Without a ticket (refused by the backoff itself) nothing is counted.
  if (count_for_backoff) ctx_.backoff->onFailure(&backoff_ticket_, now, cause);
  spdlog::warn("[W{}][C{}] {}", ctx_.worker_id, id_, cause);
  upstream_failure_ = cause;
  upstream_deadline_ = 0;
  state_ = State::kUpstreamFailed;
  UpstreamFailureEvent ev;
  ev.conn = downstream_.ref();
  ev.cause = upstream_failure_;
  observer_.onUpstreamFailure(ev);
  if (dns_pending_) uv_cancel(reinterpret_cast<uv_req_t*>(&dns_req_));
  closeLeg(upstream_, false, CloseReason::kUpstreamFailed, cause);
  if (!downstream_.session) {
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, config_.limits.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, config_.limits.max_header_list_size},
    };
    startDownstream(iv, 2);
  }
  // Calls that arrive are answered UNAVAILABLE; the connection then ends with
  // GOAWAY so the client reconnects (and we retry) under its own backoff.
  linger_deadline_ = now + msToNs(2000);
  armTimer();
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
  // buffered input synchronously (STYLE.md trap 1).
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
      nghttp2_session_terminate_session2(leg.session, nghttp2_session_get_last_proc_stream_id(leg.session),
                                         error_code);
      leg.goaway_sent_code = error_code;
      ++leg.goaways_unsent;
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
