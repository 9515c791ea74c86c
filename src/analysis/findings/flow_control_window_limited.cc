// flow_control.window_limited: grpcscope had bytes for a hop's peer but the
// peer's HTTP/2 window (RFC 9113 section 6.9) was closed for a large share of
// the sending time, while the throughput sat near window / RTT (at least half
// a window per round trip: the window came back as fast as the path allows):
// the window is smaller than the bandwidth-delay product, so the sender idles
// a part of every round trip. A reader slower than that leaves the
// throughput far below window / RTT (flow_control.slow_reader). Reported per
// hop for the last 60 s.
#include <algorithm>
#include <cmath>

#include "analysis/findings/flow_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// Sustained transfer: at least 16 default windows sent and a second of sending,
// so that a short burst at the start of a call does not count.
constexpr uint64_t kMinBytes = 1u << 20;
constexpr double kMinActiveS = 1.0;
// The sender waited on the window for at least a quarter of its sending time:
// below that, a bigger window gains little (at most a third more throughput).
constexpr double kMinBlockedShare = 0.25;
// The bytes moved per round trip are at least half the peer's window: the
// window, not a slow reader, the source or the CPU, caps the rate. (How
// often the window closed says little: when it reopens and closes again
// within one turn of grpcscope's loop, one wait runs into the next.)
constexpr double kMinWindowUse = 0.5;
// Below 1 ms (same host or rack) even a 64 KiB window allows 65 MB/s: not
// worth a finding.
constexpr double kMinRttS = 0.001;
// The blocked share is capped here for the BDP estimate (rate while not blocked).
constexpr double kMaxShareForEstimate = 0.95;

}  // namespace

void flowControlWindowLimited(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  struct Hit {
    double share;
    Finding f;
  };
  std::vector<Hit> hits;
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = w.stats.hops[h];
    SendFigures s = sendFigures(hs);
    if (s.bytes < kMinBytes || s.active_s < kMinActiveS || s.stalls == 0) continue;
    if (s.blocked_share < kMinBlockedShare) continue;
    HopRtt rtt = hopRtt(hs, in.current, h);
    if (rtt.seconds < kMinRttS) continue;
    bool by_connection = 2 * s.connection_stalls >= s.stalls;
    // The connection window's size is not announced; its protocol start is the lower bound.
    uint32_t window = by_connection ? kDefaultWindow : smallestPeerWindow(in.current, h);
    double per_rtt = s.throughput * rtt.seconds;  // what was in flight per round trip
    if (per_rtt < kMinWindowUse * window) continue;
    double rate_unblocked = s.throughput / (1.0 - std::min(s.blocked_share, kMaxShareForEstimate));
    double bdp = rate_unblocked * rtt.seconds;
    Finding f;
    f.id = "flow_control.window_limited";
    f.severity = Severity::kWarning;
    f.layer = Layer::kFlowControl;
    std::string peer = peerLabel(h);
    f.title = "The " + peer + "'s HTTP/2 " + (by_connection ? "connection" : "stream") +
              " window is below the bandwidth-delay product: sending to it waits on the window every round trip";
    f.evidence = {{"window", by_connection ? "connection" : "stream"},
                  {"window_bytes", window},
                  {"rtt_s", rounded(rtt.seconds)},
                  {"rtt_p50_s", rounded(rtt.p50)},
                  {"rtt_source", rtt.source},
                  {"throughput_bytes_per_s", rounded(s.throughput)},
                  {"window_per_rtt_bytes_per_s", rounded(window / rtt.seconds)},
                  {"bytes_per_rtt", rounded(per_rtt)},
                  {"bdp_estimate_bytes", rounded(bdp)},
                  {"blocked_share", rounded(s.blocked_share)},
                  {"mean_stall_s", rounded(s.mean_stall_s)},
                  {"stalls", s.stalls},
                  {"connection_stalls", s.connection_stalls},
                  {"sent_bytes", s.bytes},
                  {"window_s", rounded(w.seconds)}};
    f.recommendation =
        "Let the " + peer +
        "'s receive windows grow to at least the bandwidth-delay product (bdp_estimate_bytes): keep BDP "
        "estimation on, or set a static window that large. Go: do not set WithInitialWindowSize/"
        "WithInitialConnWindowSize (client) or InitialWindowSize/InitialConnWindowSize (server) below it, since "
        "setting them switches BDP estimation off (1.74+: WithStaticStreamWindowSize/WithStaticConnWindowSize); "
        "C++/Python (core): keep grpc.http2.bdp_probe=1 (the default), or raise grpc.http2.lookahead_bytes; "
        "Java: initialFlowControlWindow(n) keeps auto-tuning, flowControlWindow(n) fixes the window; Node: the "
        "window is not exposed. Throughput on one " +
        std::string(by_connection ? "connection" : "stream") + " is capped at window / RTT.";
    f.scope = {{"hop", hopLabel(h)}};
    hits.push_back({s.blocked_share, std::move(f)});
  }
  // Two hops at most, well within kMaxPerRule; the worst first.
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.share > b.share; });
  for (Hit& hit : hits) out.push_back(std::move(hit.f));
}

}  // namespace grpcscope::findings
