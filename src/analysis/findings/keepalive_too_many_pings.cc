// keepalive.too_many_pings: the server ended a connection with GOAWAY
// ENHANCE_YOUR_CALM and debug data "too_many_pings" (gRFC A8; gRPC's
// doc/keepalive.md): the client's keepalive PINGs came more often than the
// server's enforcement policy permits. Reported for the last 60 s.
#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr std::string_view kDebugText = "too_many_pings";  // the text all gRPC servers send
constexpr size_t kEnhanceYourCalm = 0xb;                   // RFC 9113 section 7

}  // namespace

void keepaliveTooManyPings(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  const HopStats& up = upstream(w.stats);
  uint64_t goaways = up.goaway_debug.count(kDebugText);
  if (goaways == 0) return;
  const HopStats& down = downstream(w.stats);
  Finding f;
  f.id = "keepalive.too_many_pings";
  f.severity = Severity::kCritical;  // the server closes the connection: calls in flight fail
  f.layer = Layer::kConnection;
  f.title = "The server closed connections for too many pings (GOAWAY ENHANCE_YOUR_CALM \"too_many_pings\")";
  f.evidence = {{"goaways_too_many_pings", goaways},
                {"goaways_enhance_your_calm", up.goaway[kReceived][kEnhanceYourCalm]},
                {"window_s", rounded(w.seconds)},
                {"client_pings", down.pings[kReceived]},
                {"client_pings_without_calls_or_data", down.pings_without_data}};
  if (down.ping_interval.count() > 0) {
    f.evidence["client_ping_interval_p50_s"] = rounded(down.ping_interval.quantile(0.5));
    f.evidence["client_ping_interval_min_s"] = rounded(down.ping_interval.sketch().min());
  }
  f.recommendation =
      "Make the client's keepalive interval at least the server's minimum, or relax the server's policy. "
      "Client: Go keepalive.ClientParameters{Time}; C++/Python grpc.keepalive_time_ms (and "
      "grpc.keepalive_permit_without_calls=0); Java keepAliveTime(); Node grpc.keepalive_time_ms. "
      "Server (default minimum 5 min, no pings without calls): Go keepalive.EnforcementPolicy{MinTime, "
      "PermitWithoutStream}; C++/Python grpc.http2.min_ping_interval_without_data_ms and "
      "grpc.keepalive_permit_without_calls; Java permitKeepAliveTime() and permitKeepAliveWithoutCalls().";
  f.scope = {{"hop", "upstream"}};
  out.push_back(std::move(f));
}

}  // namespace grpcscope::findings
