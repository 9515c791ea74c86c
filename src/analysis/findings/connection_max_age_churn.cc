// connection.max_age_churn: the server ends connections after a short,
// regular lifetime with its graceful two-phase GOAWAY (gRFC A9: GOAWAY
// NO_ERROR with last stream 2^31-1 and a PING, then a final GOAWAY NO_ERROR),
// the clients reconnect (a full TLS handshake each time unless they resume),
// and calls still open when the grace period ends are cut. The debug data may
// be empty (docs/findings.md), so the pattern is recognised, not the text:
// the observer counts phase one per upstream connection with the
// connection's age at that moment, phase two, and the calls still open when
// such a connection closed. Reported for the last 60 s, on the upstream hop.
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// Three notices in the window: a connection age, not one server restart
// (which sends each connection one notice) or one idle timeout.
constexpr uint64_t kMinNotices = 3;
// Lifetimes this short make connection setup a noticeable share of the
// connection's life; a maximum age meant to rebalance load is minutes long.
constexpr double kShortAgeS = 120;
// Below this, a warning even when no call was cut: a reconnect (and a TLS
// handshake) every few seconds per client.
constexpr double kVeryShortAgeS = 30;
// gRPC adds +-10% jitter to the maximum age (gRFC A9): p90/p10 up to 1.22. A
// wider spread than 1.5 is not one configured age.
constexpr double kMaxAgeSpread = 1.5;

uint64_t tlsHandshakes(const HopStats& h, bool resumed) {
  uint64_t n = 0;
  for (const auto& [key, count] : h.tls_handshakes) {
    if (std::get<2>(key) == resumed) n += count;
  }
  return n;
}

}  // namespace

void connectionMaxAgeChurn(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  const HopStats& up = upstream(w.stats);
  const HopStats& down = downstream(w.stats);
  if (up.goaway_notices < kMinNotices || up.goaway_notice_age.count() < kMinNotices) return;
  double p10 = up.goaway_notice_age.quantile(0.1);
  double p50 = up.goaway_notice_age.quantile(0.5);
  double p90 = up.goaway_notice_age.quantile(0.9);
  if (p50 >= kShortAgeS || p10 <= 0 || p90 / p10 > kMaxAgeSpread) return;

  Finding f;
  f.id = "connection.max_age_churn";
  bool cut = up.calls_cut_after_notice > 0;
  f.severity = cut || p50 < kVeryShortAgeS ? Severity::kWarning : Severity::kInfo;
  f.layer = Layer::kConnection;
  f.title = "The server ends connections after a short maximum age (graceful GOAWAY), clients reconnect";
  f.evidence = {{"goaway_notices", up.goaway_notices},
                {"goaways_two_phase", up.goaway_two_phase},
                {"connection_age_p50_s", rounded(p50)},
                {"connection_age_p10_s", rounded(p10)},
                {"connection_age_p90_s", rounded(p90)},
                {"window_s", rounded(w.seconds)},
                {"client_connections_opened", down.connections_opened},
                {"client_connections_per_s", rounded(down.connections_opened / w.seconds)},
                {"upstream_connections_opened", up.connections_opened},
                {"full_tls_handshakes_downstream", tlsHandshakes(down, false)},
                {"resumed_tls_handshakes_downstream", tlsHandshakes(down, true)},
                {"full_tls_handshakes_upstream", tlsHandshakes(up, false)},
                {"calls_cut_at_grace", up.calls_cut_after_notice}};
  if (uint64_t text = up.goaway_debug.count("max_age")) f.evidence["goaway_debug_max_age"] = text;
  if (up.goaway_drain.count() > 0) {
    // Notice to close: with calls cut, its maximum is about the grace period.
    f.evidence["drain_p50_s"] = rounded(up.goaway_drain.quantile(0.5));
    f.evidence["drain_max_s"] = rounded(up.goaway_drain.sketch().max());
  }
  f.recommendation =
      "Raise the server's maximum connection age to minutes (it exists to rebalance load, gRFC A9) and give "
      "it a grace period longer than the longest call, so calls are not cut: Go "
      "keepalive.ServerParameters{MaxConnectionAge, MaxConnectionAgeGrace}; C++/Python "
      "grpc.max_connection_age_ms and grpc.max_connection_age_grace_ms; Java NettyServerBuilder "
      "maxConnectionAge() and maxConnectionAgeGrace(). Let clients resume TLS sessions so each reconnect "
      "costs less: Go tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(n)}; C++ "
      "GRPC_SSL_SESSION_CACHE_ARG with grpc_ssl_session_cache_create_lru(n); Python grpc.ssl_session_cache "
      "with grpc.experimental.session_cache.ssl_session_cache_lru(n).";
  f.scope = {{"hop", "upstream"}};
  out.push_back(std::move(f));
}

}  // namespace grpcscope::findings
