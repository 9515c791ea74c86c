// connection.churn: one client address opens new connections many times a
// second and they carry few calls each: a channel (or a whole client) made
// per call instead of one kept for the process' life. Every new connection
// costs a TCP handshake, the HTTP/2 preface and SETTINGS exchange, a full
// TLS handshake unless resumed, and a cold flow-control window (RFC 9113
// section 6.9.2: 65535 bytes until the peer raises it). Reported per client
// address over the last 10 s (the span WorkerStats::churn keeps).
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// The span of ClientChurn::recent(): the 10 seconds up to now.
constexpr double kChurnSpanS = 10;
// 5 new connections a second from one address, sustained over 10 s. A gRPC
// channel keeps its connection for its life and, when connections fail,
// reconnects under exponential backoff starting at 1 s (gRPC's
// doc/connection-backoff.md): one healthy client stays far below this.
constexpr uint64_t kMinNewConnections = 50;
// "Few calls per connection": the median downstream connection that closed
// in the window carried at most this many streams...
constexpr double kFewStreams = 2;
// ...over at least this many closed connections, so that a fleet of clients
// behind one address all (re)connecting at once, their connections staying
// open, does not count.
constexpr uint64_t kMinClosed = 20;
// Or: calls per full TLS handshake at or below 2 (a full handshake every
// call or two), over at least kMinClosed handshakes.
constexpr double kFewCallsPerFullHandshake = 2;

uint64_t fullHandshakes(const HopStats& h) {
  uint64_t n = 0;
  for (const auto& [key, count] : h.tls_handshakes) {
    if (!std::get<2>(key)) n += count;
  }
  return n;
}

}  // namespace

void connectionChurn(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = in.last10s;
  if (w.empty()) return;
  const WorkerStats& now = in.current.stats;
  const HopStats& down = downstream(w.stats);
  // Churn seconds count from the process start, as current.t does.
  uint64_t now_second = in.current.t > 0 ? static_cast<uint64_t>(in.current.t) : 0;

  const uint64_t closed = down.streams_per_connection.count();
  const double streams_p50 = closed > 0 ? down.streams_per_connection.quantile(0.5) : 0;
  const bool few_streams = closed >= kMinClosed && streams_p50 <= kFewStreams;
  const uint64_t full_tls = fullHandshakes(down);
  const double calls_per_full_tls =
      full_tls > 0 ? static_cast<double>(w.stats.calls_started) / static_cast<double>(full_tls) : 0;
  const bool tls_per_call = full_tls >= kMinClosed && calls_per_full_tls <= kFewCallsPerFullHandshake;
  if (!few_streams && !tls_per_call) return;

  std::vector<std::pair<uint64_t, const std::string*>> clients;
  for (const auto& [ip, churn] : now.churn) {
    uint64_t recent = churn.recent(now_second);
    if (recent >= kMinNewConnections) clients.emplace_back(recent, &ip);
  }
  std::sort(clients.begin(), clients.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  });
  if (clients.size() > kMaxPerRule) clients.resize(kMaxPerRule);

  for (const auto& [recent, ip] : clients) {
    Finding f;
    f.id = "connection.churn";
    f.severity = Severity::kWarning;  // latency and CPU on every call, not failures
    f.layer = Layer::kConnection;
    f.title = "A client opens a new connection for (almost) every call";
    f.evidence = {{"new_connections_last_10s", recent},
                  {"new_connections_per_s", rounded(static_cast<double>(recent) / kChurnSpanS)},
                  {"downstream_connections_closed", closed},
                  {"streams_per_closed_connection_p50", rounded(streams_p50)},
                  {"window_s", rounded(w.seconds)}};
    if (down.connections_opened > 0) {
      f.evidence["calls_per_new_connection"] =
          rounded(static_cast<double>(w.stats.calls_started) / static_cast<double>(down.connections_opened));
    }
    if (down.connection_lifetime.count() > 0) {
      f.evidence["connection_lifetime_p50_s"] = rounded(down.connection_lifetime.quantile(0.5));
    }
    if (full_tls > 0) {
      f.evidence["full_tls_handshakes"] = full_tls;
      f.evidence["calls_per_full_tls_handshake"] = rounded(calls_per_full_tls);
    }
    f.recommendation =
        "Create one channel per target when the process starts and share it for every call (a channel "
        "multiplexes concurrent calls on one HTTP/2 connection): Go one grpc.ClientConn from grpc.NewClient "
        "(grpc.Dial before 1.63), closed only at shutdown; C++ one grpc::CreateChannel result shared by the "
        "stubs; Python one grpc.insecure_channel/grpc.secure_channel kept open, not a with-block per call; "
        "Java one ManagedChannel (ManagedChannelBuilder.forTarget(...).build()) shared by the stubs; Node one "
        "client object reused. If connections must be short-lived, resume TLS sessions (see tls.no_resumption).";
    f.scope = {{"client", *ip}, {"hop", "downstream"}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
