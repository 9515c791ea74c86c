// flow_control.window_stuck_at_default: a hop's peer never offered more than
// HTTP/2's initial 65535-byte windows (RFC 9113 section 6.9.2) and sent no
// PING at all, so no BDP probe either (gRPC sizes its windows from PINGs
// that follow DATA), while grpcscope kept waiting on those windows during a
// sustained transfer. Go and gRPC core (C++, Python...) start at 64 KiB and
// grow by BDP estimation; a peer that stays there had it switched off.
// Reported per hop, over the live connections, while the last 60 s show waits.
#include <algorithm>

#include "analysis/findings/flow_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// Only when it matters: the connection carried a sustained transfer (64
// default windows) and waited on the window again and again...
constexpr uint64_t kMinConnectionBytes = 4u << 20;
constexpr uint64_t kMinConnectionStalls = 10;
// ... and the hop still spends a fifth of its sending time waiting.
constexpr double kMinBlockedShare = 0.2;

}  // namespace

void flowControlWindowStuckAtDefault(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  for (int h = 0; h < 2; ++h) {
    SendFigures s = sendFigures(w.stats.hops[h]);
    if (s.blocked_share < kMinBlockedShare) continue;
    uint64_t stuck = 0, bytes = 0, stalls = 0, stall_ns = 0;
    for (const ConnectionView& c : in.current.connections) {
      const LegView& leg = c.legs[h];
      if (!leg.opened || leg.closed) continue;
      if (leg.data_bytes[kSent] < kMinConnectionBytes || leg.stalls < kMinConnectionStalls) continue;
      if (peerInitialWindow(leg) > kDefaultWindow || peerGrewConnectionWindow(leg)) continue;
      if (leg.pings[kReceived] > 0) continue;
      ++stuck;
      bytes += leg.data_bytes[kSent];
      stalls += leg.stalls;
      stall_ns += leg.stall_ns;
    }
    if (stuck == 0) continue;
    std::string peer = peerLabel(h);
    Finding f;
    f.id = "flow_control.window_stuck_at_default";
    f.severity = Severity::kWarning;
    f.layer = Layer::kFlowControl;
    f.title = "The " + peer + " keeps HTTP/2's default 64 KiB windows and sends no BDP pings: " +
              "its windows never grow with the transfer";
    f.evidence = {{"connections", stuck},
                  {"peer_initial_window_bytes", kDefaultWindow},
                  {"peer_pings", 0},
                  {"connection_sent_bytes", bytes},
                  {"connection_stalls", stalls},
                  {"connection_stall_s", rounded(static_cast<double>(stall_ns) / 1e9)},
                  {"blocked_share", rounded(s.blocked_share)},
                  {"window_s", rounded(w.seconds)}};
    f.recommendation =
        "Turn the " + peer +
        "'s BDP estimation back on, or give it windows sized to the bandwidth-delay product. C++/Python "
        "(core): remove grpc.http2.bdp_probe=0 (default 1); Go: setting WithInitialWindowSize/"
        "WithInitialConnWindowSize (client) or InitialWindowSize/InitialConnWindowSize (server) switches BDP "
        "estimation off: drop them or set them to the BDP; Java starts at 1 MiB with auto-tuning: a "
        "flowControlWindow(65535) fixes it small, use initialFlowControlWindow(n); Node: not exposed.";
    f.scope = {{"hop", hopLabel(h)}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
