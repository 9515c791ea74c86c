// transport.retransmits: TCP retransmitted a noticeable share of the segments
// grpcscope sent on a hop (TCP_INFO total_retrans and segs_out, sampled once
// a second per connection). Loss cuts TCP's rate roughly as 1/sqrt(loss)
// (Standard TCP's response function, w = 1.2 / sqrt(p) segments, RFC 3649)
// and every lost segment stalls its stream for at least a round trip.
// Reported per hop for the last 60 s.
#include "analysis/findings/flow_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinSegments = 1000;      // enough traffic for a rate to mean something
constexpr uint64_t kMinRetransmits = 20;     // not one lost burst
// A healthy path retransmits well under 0.1 %; at 1 % standard TCP's window
// is held near 12 segments (RFC 3649: w = 1.2 / sqrt(p)).
constexpr double kWarningShare = 0.01;
constexpr double kCriticalShare = 0.05;      // w near 5 segments: throughput collapses, timeouts follow

}  // namespace

void transportRetransmits(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = w.stats.hops[h];
    if (hs.tcp_segs_out < kMinSegments || hs.tcp_retransmits < kMinRetransmits) continue;
    double share = static_cast<double>(hs.tcp_retransmits) / static_cast<double>(hs.tcp_segs_out);
    if (share < kWarningShare) continue;
    Finding f;
    f.id = "transport.retransmits";
    f.severity = share >= kCriticalShare ? Severity::kCritical : Severity::kWarning;
    f.layer = Layer::kTransport;
    f.title = std::string("TCP retransmits ") + (share >= kCriticalShare ? "many" : "a noticeable share") +
              " of the segments sent to the " + peerLabel(h) + ": packets are lost on that path";
    f.evidence = {{"retransmitted_segments", hs.tcp_retransmits},
                  {"segments_sent", hs.tcp_segs_out},
                  {"retransmit_share", rounded(share)},
                  {"retransmits_per_s", rounded(static_cast<double>(hs.tcp_retransmits) / w.seconds)},
                  {"window_s", rounded(w.seconds)}};
    if (hs.tcp_rtt.count() > 0) f.evidence["tcp_rtt_p50_s"] = rounded(hs.tcp_rtt.quantile(0.5));
    f.recommendation =
        "Not a gRPC setting: find where packets are lost between grpcscope and the " + std::string(peerLabel(h)) +
        " (`ss -ti` shows retrans per connection; interface drop and error counters with `ip -s link`; a "
        "congested or shaped link, a shallow queue, an MTU black hole, a faulty NIC or cable). On lossy "
        "long paths a loss-tolerant congestion control helps (Linux: net.ipv4.tcp_congestion_control=bbr).";
    f.scope = {{"hop", hopLabel(h)}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
