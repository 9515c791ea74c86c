// keepalive.too_many_pings: the server ended a connection with GOAWAY
// ENHANCE_YOUR_CALM and debug data "too_many_pings" (gRFC A8; gRPC's
// doc/keepalive.md): the client's keepalive PINGs came more often than the
// server's enforcement policy permits. Reported for the last 60 s, one
// finding per client address (the observer keeps each client's GOAWAYs with
// the PING interval and open calls of that connection, so the reconnects'
// backoff shows); by hop when no client is known.
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr std::string_view kDebugText = "too_many_pings";  // the text all gRPC servers send
constexpr size_t kEnhanceYourCalm = 0xb;                   // RFC 9113 section 7
// A client that doubles its keepalive time on every too_many_pings (gRPC's
// reaction, docs/findings.md) shows a ratio of 2 between reconnects; 1.5
// leaves room for timer slack and still tells it from no backoff at all.
constexpr double kBackoffRatio = 1.5;

constexpr std::string_view kRecommendation =
    "Make the client's keepalive interval at least the server's minimum, or relax the server's policy. "
    "Client: Go keepalive.ClientParameters{Time}; C++/Python grpc.keepalive_time_ms (and "
    "grpc.keepalive_permit_without_calls=0); Java keepAliveTime(); Node grpc.keepalive_time_ms. "
    "Server (default minimum 5 min, no pings without calls): Go keepalive.EnforcementPolicy{MinTime, "
    "PermitWithoutStream}; C++/Python grpc.http2.min_ping_interval_without_data_ms and "
    "grpc.keepalive_permit_without_calls; Java permitKeepAliveTime() and permitKeepAliveWithoutCalls().";
constexpr std::string_view kWithoutCalls =
    " The PINGs came with no call open: the server refuses those unless it permits them (Go "
    "EnforcementPolicy{PermitWithoutStream: true}, C++/Python grpc.keepalive_permit_without_calls=1 on the "
    "server, Java permitKeepAliveWithoutCalls(true)); or stop them on the client (Go "
    "ClientParameters{PermitWithoutStream: false}, C++/Python grpc.keepalive_permit_without_calls=0, Java "
    "keepAliveWithoutCalls(false)).";

Finding base(const StatsWindow& w, const HopStats& up, const HopStats& down) {
  Finding f;
  f.id = "keepalive.too_many_pings";
  f.severity = Severity::kCritical;  // the server closes the connection: calls in flight fail
  f.layer = Layer::kConnection;
  f.title = "The server closed connections for too many pings (GOAWAY ENHANCE_YOUR_CALM \"too_many_pings\")";
  f.evidence = {{"goaways_enhance_your_calm", up.goaway[kReceived][kEnhanceYourCalm]},
                {"window_s", rounded(w.seconds)},
                {"client_pings", down.pings[kReceived]},
                {"client_keepalive_pings", down.keepalive_pings},
                {"client_bdp_pings", down.bdp_pings},
                {"client_pings_after_server_data", down.pings_after_server_frames},
                {"client_pings_without_calls_or_data", down.pings_without_data}};
  if (down.ping_interval.count() > 0) {
    f.evidence["client_ping_interval_p50_s"] = rounded(down.ping_interval.quantile(0.5));
    f.evidence["client_ping_interval_min_s"] = rounded(down.ping_interval.sketch().min());
  }
  f.recommendation = kRecommendation;
  return f;
}

struct ClientReport {
  const std::string* ip = nullptr;
  const ClientPings* pings = nullptr;
  uint64_t in_window = 0;
};

}  // namespace

void keepaliveTooManyPings(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  const HopStats& up = upstream(w.stats);
  uint64_t goaways = up.goaway_debug.count(kDebugText);
  if (goaways == 0) return;
  const HopStats& down = downstream(w.stats);

  // The clients whose connections earned it within the window.
  uint64_t now = in.current.now_ns;
  uint64_t span_ns = static_cast<uint64_t>(w.seconds * 1e9);
  std::vector<ClientReport> clients;
  for (const auto& [ip, p] : in.current.stats.pings_by_client) {
    ClientReport r{&ip, &p, 0};
    for (const auto& g : p.goaways) {
      if (g.at_ns + span_ns >= now) ++r.in_window;
    }
    if (r.in_window > 0) clients.push_back(r);
  }
  if (clients.empty()) {
    Finding f = base(w, up, down);
    f.evidence["goaways_too_many_pings"] = goaways;
    f.scope = {{"hop", "upstream"}};
    out.push_back(std::move(f));
    return;
  }
  std::sort(clients.begin(), clients.end(), [](const ClientReport& a, const ClientReport& b) {
    return a.in_window != b.in_window ? a.in_window > b.in_window : *a.ip < *b.ip;
  });
  if (clients.size() > kMaxPerRule) clients.resize(kMaxPerRule);

  for (const ClientReport& r : clients) {
    const ClientPings& p = *r.pings;
    Finding f = base(w, up, down);
    f.evidence["goaways_too_many_pings"] = r.in_window;
    f.evidence["goaways_too_many_pings_total"] = p.too_many_pings;
    // Each GOAWAY'd connection of this client, oldest first: the PING
    // interval before the GOAWAY, and whether calls were open.
    nlohmann::json intervals = nlohmann::json::array();
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& g : p.goaways) {
      intervals.push_back(rounded(static_cast<double>(g.interval_ns) / 1e9));
      calls.push_back(g.calls_active);
    }
    const ClientPings::Goaway& last = p.goaways.back();
    f.evidence["client_ping_interval_s"] = rounded(static_cast<double>(last.interval_ns) / 1e9);
    f.evidence["client_ping_interval_by_connection_s"] = std::move(intervals);
    f.evidence["calls_active_by_connection"] = std::move(calls);
    f.evidence["calls_active_at_goaway"] = last.calls_active;
    f.evidence["client_pings_on_connection"] = last.pings;
    f.evidence["reconnects"] = p.goaways.size() > 1 ? p.goaways.size() - 1 : 0;
    // Backoff: the ratio of each connection's interval to the one before.
    if (p.goaways.size() > 1) {
      const ClientPings::Goaway& first = p.goaways.front();
      bool doubling = true;
      for (size_t i = 1; i < p.goaways.size(); ++i) {
        uint64_t a = p.goaways[i - 1].interval_ns, b = p.goaways[i].interval_ns;
        if (a == 0 || static_cast<double>(b) < kBackoffRatio * static_cast<double>(a)) doubling = false;
      }
      f.evidence["client_backed_off"] = doubling;
      if (first.interval_ns > 0) {
        f.evidence["client_backoff_factor"] =
            rounded(static_cast<double>(last.interval_ns) / static_cast<double>(first.interval_ns));
      }
    }
    if (last.calls_active == 0) f.recommendation += kWithoutCalls;
    f.scope = {{"hop", "upstream"}, {"client", *r.ip}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
