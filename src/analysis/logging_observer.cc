#include "analysis/logging_observer.h"

#include <spdlog/spdlog.h>

#include <string>

#include "analysis/label_bounds.h"

namespace grpcscope {
namespace {

bool debugOn() { return spdlog::should_log(spdlog::level::debug); }

}  // namespace

bool isSensitiveHeader(std::string_view name) {
  if (!name.empty() && name.front() == ':') return false;  // pseudo-headers (":authority" is handled apart)
  if (name == "authorization" || name == "proxy-authorization" || name == "cookie" || name == "set-cookie" ||
      name == "x-api-key") {
    return true;
  }
  // Custom credential metadata ("x-auth-token", "x-goog-iam-authorization-token",
  // "x-session-id", "api-key"): HTTP/2 field names are lowercase (RFC 9113 section 8.2.1).
  for (std::string_view part : {"auth", "token", "secret", "password", "passwd", "api-key", "apikey", "session",
                                "cookie", "credential"}) {
    if (name.find(part) != std::string_view::npos) return true;
  }
  return false;
}

void LoggingObserver::onConnectionOpen(const ConnectionOpenEvent& ev) {
  if (!debugOn()) return;
  spdlog::debug("[W{}][C{}] {} connection open peer={} local={} setup_us={} dns_us={}", ev.conn.worker, ev.conn.id,
                hopName(ev.conn.hop), ev.peer, ev.local, ev.setup_ns / 1000, ev.dns_ns / 1000);
}

void LoggingObserver::onConnectionClose(const ConnectionCloseEvent& ev) {
  if (!debugOn()) return;
  spdlog::debug("[W{}][C{}] {} connection closed reason={} detail=\"{}\" streams={} bytes_in={} bytes_out={}",
                ev.conn.worker, ev.conn.id, hopName(ev.conn.hop), closeReasonName(ev.reason), ev.detail, ev.streams,
                ev.bytes_in, ev.bytes_out);
}

void LoggingObserver::onSettings(const SettingsEvent& ev) {
  if (!debugOn()) return;
  std::string entries;
  for (size_t i = 0; i < ev.count; ++i) {
    entries += " " + std::to_string(ev.entries[i].id) + "=" + std::to_string(ev.entries[i].value);
  }
  spdlog::debug("[W{}][C{}] {} SETTINGS {}{}{}", ev.conn.worker, ev.conn.id, hopName(ev.conn.hop),
                directionName(ev.direction), ev.ack ? " ACK" : "", entries);
}

void LoggingObserver::onStreamOpen(const StreamEvent& ev) {
  if (!debugOn()) return;
  spdlog::debug("[W{}][C{}][S{}] {} stream open", ev.conn.worker, ev.conn.id, ev.stream_id, hopName(ev.conn.hop));
}

void LoggingObserver::onHeaders(const HeadersEvent& ev) {
  if (!debugOn()) return;
  std::string fields;
  for (size_t i = 0; i < ev.count; ++i) {
    const HeaderField& f = ev.fields[i];
    fields += " ";
    fields.append(f.name);
    if (isSensitiveHeader(f.name)) {
      fields += "=<redacted>";
    } else if (f.name.size() > 4 && f.name.substr(f.name.size() - 4) == "-bin") {
      fields += "=<" + std::to_string(f.value.size()) + " bytes>";
    } else if (f.name == ":authority") {
      fields += "=" + boundedText(withoutUserinfo(f.value), 128);  // userinfo is a credential
    } else {
      fields += "=" + boundedText(f.value, 128);  // printable only: a peer cannot forge log lines
    }
  }
  spdlog::debug("[W{}][C{}][S{}] {} {} {}{}:{}", ev.conn.worker, ev.conn.id, ev.stream_id, hopName(ev.conn.hop),
                directionName(ev.direction), ev.trailers ? "TRAILERS" : "HEADERS", ev.end_stream ? " END_STREAM" : "",
                fields);
}

void LoggingObserver::onData(const DataEvent& ev) {
  if (!spdlog::should_log(spdlog::level::trace)) return;
  spdlog::trace("[W{}][C{}][S{}] {} DATA {} len={}{}", ev.conn.worker, ev.conn.id, ev.stream_id, hopName(ev.conn.hop),
                directionName(ev.direction), ev.length, ev.end_stream ? " END_STREAM" : "");
}

void LoggingObserver::onRstStream(const RstStreamEvent& ev) {
  if (!debugOn()) return;
  spdlog::debug("[W{}][C{}][S{}] {} RST_STREAM {} code={}", ev.conn.worker, ev.conn.id, ev.stream_id,
                hopName(ev.conn.hop), directionName(ev.direction), ev.error_code);
}

void LoggingObserver::onStreamClose(const StreamCloseEvent& ev) {
  if (!spdlog::should_log(spdlog::level::trace)) return;
  spdlog::trace("[W{}][C{}][S{}] {} stream closed code={}", ev.conn.worker, ev.conn.id, ev.stream_id,
                hopName(ev.conn.hop), ev.error_code);
}

void LoggingObserver::onWindowUpdate(const WindowUpdateEvent& ev) {
  if (!spdlog::should_log(spdlog::level::trace)) return;
  spdlog::trace("[W{}][C{}][S{}] {} WINDOW_UPDATE {} +{}", ev.conn.worker, ev.conn.id, ev.stream_id,
                hopName(ev.conn.hop), directionName(ev.direction), ev.increment);
}

void LoggingObserver::onFlowControl(const FlowControlEvent& ev) {
  if (!debugOn()) return;
  if (ev.blocked) {
    spdlog::debug("[W{}][C{}][S{}] {} blocked by peer window pending={}", ev.conn.worker, ev.conn.id, ev.stream_id,
                  hopName(ev.conn.hop), ev.pending_bytes);
  } else {
    spdlog::debug("[W{}][C{}][S{}] {} unblocked after {} us", ev.conn.worker, ev.conn.id, ev.stream_id,
                  hopName(ev.conn.hop), ev.blocked_ns / 1000);
  }
}

void LoggingObserver::onPing(const PingEvent& ev) {
  if (!debugOn()) return;
  if (ev.rtt_ns) {
    spdlog::debug("[W{}][C{}] {} PING ACK {} opaque={:016x} rtt_us={}", ev.conn.worker, ev.conn.id,
                  hopName(ev.conn.hop), directionName(ev.direction), ev.opaque, ev.rtt_ns / 1000);
  } else {
    spdlog::debug("[W{}][C{}] {} PING{} {} opaque={:016x}", ev.conn.worker, ev.conn.id, hopName(ev.conn.hop),
                  ev.ack ? " ACK" : "", directionName(ev.direction), ev.opaque);
  }
}

void LoggingObserver::onGoaway(const GoawayEvent& ev) {
  if (!debugOn()) return;
  spdlog::debug("[W{}][C{}] {} GOAWAY {} code={} last_stream={} debug=\"{}\"", ev.conn.worker, ev.conn.id,
                hopName(ev.conn.hop), directionName(ev.direction), ev.error_code, ev.last_stream_id,
                boundedText(ev.debug_data, 256));
}

void LoggingObserver::onViolation(const ViolationEvent& ev) {
  spdlog::info("[W{}][C{}] {} peer violation {}: GOAWAY code {}", ev.conn.worker, ev.conn.id, hopName(ev.conn.hop),
               ev.kind, ev.error_code);
}

void LoggingObserver::onUpstreamFailure(const UpstreamFailureEvent& ev) {
  if (!debugOn()) return;
  spdlog::debug("[W{}][C{}][S{}] answered UNAVAILABLE: {}", ev.conn.worker, ev.conn.id, ev.stream_id, ev.cause);
}

void LoggingObserver::onTlsHandshake(const TlsHandshakeEvent& ev) {
  if (!debugOn()) return;
  spdlog::debug("[W{}][C{}] {} TLS handshake {} us version={} cipher={} group={} alpn={} sni={} resumed={} peer=\"{}\" "
                "issuer=\"{}\" days_left={}",
                ev.conn.worker, ev.conn.id, hopName(ev.conn.hop), ev.handshake_ns / 1000, ev.version, ev.cipher, ev.group,
                ev.alpn.empty() ? "none" : ev.alpn, ev.sni, ev.resumed, ev.peer_subject, ev.peer_issuer,
                ev.peer_days_left);
  spdlog::debug("[W{}][C{}] {} TLS phases client_hello={}us server_hello={}us certificate={}us verify={}us", ev.conn.worker,
                ev.conn.id, hopName(ev.conn.hop), ev.client_hello_ns / 1000, ev.server_hello_ns / 1000,
                ev.certificate_ns / 1000, ev.verify_ns / 1000);
  if (!ev.ja3_md5.empty()) {
    spdlog::debug("[W{}][C{}] {} TLS client hello sni={} alpn=[{}] versions=[{}] ciphers={} groups=[{}] ja3={} ja3_md5={}",
                  ev.conn.worker, ev.conn.id, hopName(ev.conn.hop), ev.offered_sni, ev.offered_alpn,
                  ev.offered_versions, ev.offered_ciphers, ev.offered_groups, ev.ja3, ev.ja3_md5);
  }
}

}  // namespace grpcscope
