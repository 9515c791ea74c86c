// transport.rwnd_limited: while grpcscope had data in flight to a hop's peer,
// TCP was held back by the peer's advertised receive window for a large share
// of the time (TCP_INFO busy_time and rwnd_limited, RFC 7323 section 2 for
// the window): the peer's socket receive buffer is too small for the path,
// or its process reads the socket slowly. HTTP/2 windows are not the limit
// then. Reported per hop for the last 60 s.
#include "analysis/findings/flow_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr double kMinBusyS = 1.0;          // a second with data in flight over the window
constexpr uint64_t kMinSamples = 3;        // TCP_INFO samples (one per connection and second)
// A quarter of the busy time held by the receiver's window: TCP alone would
// send a third more or better.
constexpr double kMinRwndShare = 0.25;

}  // namespace

void transportRwndLimited(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = w.stats.hops[h];
    double busy_s = static_cast<double>(hs.tcp_busy_us) / 1e6;
    if (hs.tcp_samples < kMinSamples || busy_s < kMinBusyS) continue;
    double share = static_cast<double>(hs.tcp_rwnd_limited_us) / static_cast<double>(hs.tcp_busy_us);
    if (share < kMinRwndShare) continue;
    SendFigures s = sendFigures(hs);
    std::string peer = peerLabel(h);
    Finding f;
    f.id = "transport.rwnd_limited";
    f.severity = Severity::kWarning;
    f.layer = Layer::kTransport;
    f.title = "The " + peer + "'s TCP receive window, not HTTP/2, limits what grpcscope sends to it";
    f.evidence = {{"rwnd_limited_share", rounded(share)},
                  {"rwnd_limited_s", rounded(static_cast<double>(hs.tcp_rwnd_limited_us) / 1e6)},
                  {"busy_s", rounded(busy_s)},
                  {"sndbuf_limited_share", rounded(static_cast<double>(hs.tcp_sndbuf_limited_us) /
                                                   static_cast<double>(hs.tcp_busy_us))},
                  {"http2_blocked_share", rounded(s.blocked_share)},
                  {"window_s", rounded(w.seconds)}};
    if (hs.tcp_rtt.count() > 0) f.evidence["tcp_rtt_p50_s"] = rounded(hs.tcp_rtt.quantile(0.5));
    f.recommendation =
        "On the " + peer +
        "'s host: let its socket receive buffer grow to the path's bandwidth-delay product (Linux: raise the "
        "maximum of net.ipv4.tcp_rmem and net.core.rmem_max, keep net.ipv4.tcp_window_scaling=1, and do not "
        "set SO_RCVBUF on the socket: a fixed size switches receive-buffer autotuning off), and check that "
        "its process reads the socket promptly (a CPU-starved or blocked event loop). HTTP/2 window options "
        "do not help here.";
    f.scope = {{"hop", hopLabel(h)}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
