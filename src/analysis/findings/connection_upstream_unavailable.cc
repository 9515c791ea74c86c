// connection.upstream_unavailable: grpcscope could not use the server
// (refused, unreachable, timed out, name not resolved, TLS failed, closed
// during the HTTP/2 handshake, lost mid-call) and answered the client's calls
// itself with UNAVAILABLE, naming the cause in grpc-message (docs/architecture.md).
// The causes are those texts, exactly as the clients saw them, counted by
// WorkerStats::upstream_failure_causes. Reported over the last 10 s, so the
// finding resolves soon after the server is back.
#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <string_view>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// Failures (calls answered UNAVAILABLE, and connection attempts that failed)
// in the last 10 s: a handful, not one connection that failed once.
constexpr uint64_t kMinFailures = 5;
// Critical when at least half the calls that finished in the window failed
// with UNAVAILABLE: the service is down for its clients, not degraded.
constexpr double kCriticalShare = 0.5;
constexpr int kUnavailable = 14;
// Causes shown in the evidence, most frequent first.
constexpr size_t kMaxCausesShown = 4;

// The proxy's texts vary only in their backoff suffix: one cause each.
std::string normalized(std::string_view cause) {
  for (std::string_view suffix : {" (next connection attempt in", " (a new connection attempt is in progress"}) {
    if (size_t at = cause.find(suffix); at != std::string_view::npos) cause = cause.substr(0, at);
  }
  return std::string(cause);
}

bool has(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

enum class Kind { kRefused, kTimeout, kUnreachable, kDns, kTlsVerify, kTlsClientCert, kTlsHandshake, kH2Handshake, kLost, kOther };

Kind classify(std::string_view c) {
  if (has(c, "client certificate")) return Kind::kTlsClientCert;
  if (has(c, "certificate verify failed")) return Kind::kTlsVerify;
  if (has(c, "TLS")) return Kind::kTlsHandshake;
  if (has(c, "refused")) return Kind::kRefused;
  if (has(c, "timed out")) return Kind::kTimeout;
  if (has(c, "unreachable") || has(c, "no route")) return Kind::kUnreachable;
  if (has(c, "resolve")) return Kind::kDns;
  if (has(c, "HTTP/2 handshake")) return Kind::kH2Handshake;
  if (has(c, "connection reset") || has(c, "connection closed")) return Kind::kLost;
  return Kind::kOther;
}

const char* kindName(Kind k) {
  switch (k) {
    case Kind::kRefused: return "refused";
    case Kind::kTimeout: return "timed_out";
    case Kind::kUnreachable: return "unreachable";
    case Kind::kDns: return "name_not_resolved";
    case Kind::kTlsVerify: return "tls_certificate_verify_failed";
    case Kind::kTlsClientCert: return "tls_client_certificate_required";
    case Kind::kTlsHandshake: return "tls_handshake_failed";
    case Kind::kH2Handshake: return "closed_during_http2_handshake";
    case Kind::kLost: return "connection_lost";
    case Kind::kOther: return "other";
  }
  return "other";
}

const char* fixFor(Kind k) {
  switch (k) {
    case Kind::kRefused:
      return "Nothing accepts connections at the upstream address: check --upstream (host and port), that the server "
             "is running, and that it listens on an address reachable from grpcscope (0.0.0.0 or the pod address, "
             "not 127.0.0.1 inside another container).";
    case Kind::kTimeout:
      return "Connection attempts time out: a firewall, security group or Kubernetes NetworkPolicy drops them, or the "
             "server is overloaded and its listen backlog is full. Check the path to the server; "
             "--upstream-connect-timeout sets how long grpcscope waits.";
    case Kind::kUnreachable:
      return "The network has no route to the server's address: check --upstream, the routing and the server's "
             "address.";
    case Kind::kDns:
      return "The upstream name does not resolve: check its spelling in --upstream and the resolver (in Kubernetes "
             "the service name and namespace).";
    case Kind::kTlsVerify:
      return "The server's certificate does not verify: give --upstream-ca the CA that signed it, --upstream-sni the "
             "name its certificate carries, or renew an expired certificate.";
    case Kind::kTlsClientCert:
      return "The server requires a client certificate (mTLS): give grpcscope one with --upstream-cert and "
             "--upstream-key.";
    case Kind::kTlsHandshake:
      return "The TLS handshake with the server fails: a plaintext (h2c) server reached with --upstream-tls fails "
             "this way (\"wrong version number\"); else the server's TLS versions or ciphers do not match.";
    case Kind::kH2Handshake:
      return "The server closes the connection before HTTP/2 starts: a TLS server reached without --upstream-tls, or "
             "a server that does not speak HTTP/2 with prior knowledge (h2c).";
    case Kind::kLost:
      return "Connections to the server were lost with calls in flight: the server restarted or crashed, or a "
             "middlebox cut the connection. Check the server's logs and restarts.";
    case Kind::kOther:
      return "Check the causes listed in the evidence.";
  }
  return "";
}

}  // namespace

void connectionUpstreamUnavailable(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = in.last10s;
  if (w.empty() || w.stats.upstream_failures < kMinFailures) return;
  std::map<std::string, uint64_t> causes;
  std::array<uint64_t, 10> by_kind{};
  for (const auto& [text, n] : w.stats.upstream_failure_causes.counts()) {
    if (n == 0) continue;
    causes[normalized(text)] += n;
    by_kind[static_cast<size_t>(classify(text))] += n;
  }
  std::vector<std::pair<std::string, uint64_t>> ordered(causes.begin(), causes.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  nlohmann::json shown = nlohmann::json::object();
  for (size_t i = 0; i < ordered.size() && i < kMaxCausesShown; ++i) shown[ordered[i].first] = ordered[i].second;
  nlohmann::json kinds = nlohmann::json::object();
  Kind dominant = Kind::kOther;
  uint64_t dominant_n = 0;
  for (size_t k = 0; k < by_kind.size(); ++k) {
    if (by_kind[k] == 0) continue;
    kinds[kindName(static_cast<Kind>(k))] = by_kind[k];
    if (by_kind[k] > dominant_n) {
      dominant_n = by_kind[k];
      dominant = static_cast<Kind>(k);
    }
  }
  uint64_t finished = w.stats.calls_finished;
  uint64_t unavailable = w.stats.by_status[kUnavailable];
  double unavailable_share = finished > 0 ? static_cast<double>(unavailable) / static_cast<double>(finished) : 0;

  Finding f;
  f.id = "connection.upstream_unavailable";
  f.severity = unavailable_share >= kCriticalShare ? Severity::kCritical : Severity::kWarning;
  f.layer = Layer::kConnection;
  f.title = "grpcscope cannot reach the server: calls are answered UNAVAILABLE";
  f.evidence = {{"upstream_failures", w.stats.upstream_failures},
                {"upstream_failures_per_s", rounded(static_cast<double>(w.stats.upstream_failures) / w.seconds)},
                {"calls_finished", finished},
                {"calls_unavailable", unavailable},
                {"calls_unavailable_share", rounded(unavailable_share)},
                {"cause_kinds", kinds},
                {"causes", shown},
                {"window_s", rounded(w.seconds)}};
  const HopStats& up = upstream(w.stats);
  if (up.connect_time.count() > 0) f.evidence["upstream_connect_p50_s"] = rounded(up.connect_time.quantile(0.5));
  f.recommendation = std::string(fixFor(dominant)) +
                     " While the server is unreachable, clients see UNAVAILABLE; gRPC clients retry it only with a "
                     "retry policy (service config \"retryPolicy\" with retryableStatusCodes [\"UNAVAILABLE\"]) or "
                     "wait-for-ready calls (Go grpc.WaitForReady(true); C++ ClientContext::set_wait_for_ready(true); "
                     "Python wait_for_ready=True; Java withWaitForReady()).";
  f.scope = {{"hop", "upstream"}};
  out.push_back(std::move(f));
}

}  // namespace grpcscope::findings
