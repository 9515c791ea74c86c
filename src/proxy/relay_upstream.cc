// ConnectionRelay: the upstream connection. Connect attempts paced by the
// worker's UpstreamBackoff, every resolved address tried in turn, TLS toward
// the server, the server's SETTINGS that make the relay ready, and the
// answer clients get when none of it works (docs/architecture.md
// "Connection set-up").
#include <spdlog/spdlog.h>

#include <cstring>

#include "proxy/connection_relay.h"
#include "proxy/h2_callbacks.h"
#include "proxy/tcp_transport.h"
#include "proxy/tls_transport.h"

namespace grpcscope {
namespace {

uint64_t nowNs() { return uv_hrtime(); }
uint64_t msToNs(uint64_t ms) { return ms * 1'000'000; }

}  // namespace

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

}  // namespace grpcscope
