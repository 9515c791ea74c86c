// transport.slow_start_after_idle: large messages that arrive on a connection
// whose sender had been idle (at least 1 s) take several more round trips
// than the same sizes on a busy connection: after an idle period longer than
// its retransmission timeout, a TCP sender restarts from its initial window
// (RFC 5681 section 4.1; Linux: net.ipv4.tcp_slow_start_after_idle, on by
// default) and grows it one round trip at a time. Measured on the messages
// grpcscope receives (requests from the client, responses from the server),
// in round trips of the connection's TCP RTT. Reported per hop for the last 60 s.
#include <algorithm>

#include "analysis/findings/flow_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinMessages = 5;        // of each kind: after idle, and warm
// At least 2 round trips more than warm, and half again as many: a 1 MiB
// message starting from a 10-segment window needs about 6 (RFC 6928).
constexpr double kMinExtraRtts = 2.0;
constexpr double kMinRatio = 1.5;
// Below 1 ms (same host or rack) the extra round trips cost little.
constexpr double kMinRttS = 0.001;

}  // namespace

void transportSlowStartAfterIdle(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = w.stats.hops[h];
    const Histogram& idle = hs.large_message_rtts_after_idle;
    const Histogram& warm = hs.large_message_rtts_warm;
    if (idle.count() < kMinMessages || warm.count() < kMinMessages) continue;
    if (hs.tcp_rtt.count() == 0) continue;
    double rtt = tcpMinRtt(hs, in.current, h);  // the path's round trip, as the round trips were counted
    if (rtt < kMinRttS) continue;
    double idle_p50 = idle.quantile(0.5), warm_p50 = warm.quantile(0.5);
    if (idle_p50 < warm_p50 + kMinExtraRtts || idle_p50 < kMinRatio * warm_p50) continue;
    std::string peer = peerLabel(h);
    Finding f;
    f.id = "transport.slow_start_after_idle";
    f.severity = Severity::kWarning;
    f.layer = Layer::kTransport;
    f.title = "Large " + std::string(h == 0 ? "requests" : "responses") + " from the " + peer +
              " take extra round trips after the connection was idle (TCP slow start after idle)";
    f.evidence = {{"messages_after_idle", idle.count()},
                  {"messages_warm", warm.count()},
                  {"rtts_after_idle_p50", rounded(idle_p50)},
                  {"rtts_warm_p50", rounded(warm_p50)},
                  {"extra_rtts", rounded(idle_p50 - warm_p50)},
                  {"extra_s", rounded((idle_p50 - warm_p50) * rtt)},
                  {"tcp_min_rtt_s", rounded(rtt)},
                  {"window_s", rounded(w.seconds)}};
    f.recommendation =
        "On the " + peer +
        "'s host (the sender): sysctl net.ipv4.tcp_slow_start_after_idle=0 keeps the congestion window "
        "across idle periods (Linux; a per-host setting, not a gRPC option). Otherwise keep the connection "
        "busy, or accept about log2(message size / 14 KB) round trips for the first large message after "
        "an idle second.";
    f.scope = {{"hop", hopLabel(h)}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
