// flow_control.slow_reader: streams toward a hop's peer waited on their own
// stream window (the connection window stayed open) and each wait lasted
// many round trips: the peer's transport had the bytes and acknowledged the
// connection, but the application took its time to read them, and a gRPC
// stack returns a stream's window only as the application reads (RFC 9113
// section 6.9; docs/architecture.md, "The backpressure chain"). Bigger
// windows only buffer more. Reported per hop for the last 60 s.
#include <algorithm>

#include "analysis/findings/flow_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinStalls = 3;          // repeated waits, not one pause (waits can run together: see below)
constexpr double kMinStallTimeS = 1.0;      // a second of waiting in the window: noticeable in latency
// A quarter of the waits at least were on the stream window alone, the
// connection window open: the peer's transport had taken the bytes and
// acknowledged them while the stream stayed shut. (gRPC core with 64 KiB
// windows lets its connection window touch zero in many of a slow reader's
// waits too; a transport that is itself behind closes it in nearly all.)
constexpr double kMinStreamOnlyShare = 0.25;
// A window update that comes 4 round trips after the window closed is not
// the network's doing (an update needs one), and 20 ms is above a
// scheduler's hiccup on a loaded host.
constexpr double kMinStallRtts = 4.0;
constexpr double kMinStallS = 0.020;
// Less than half the peer's window per round trip: the window is not what
// caps the rate (at window / RTT it would be flow_control.window_limited).
constexpr double kMaxWindowUse = 0.5;

}  // namespace

void flowControlSlowReader(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  struct Hit {
    double stall_s;
    Finding f;
  };
  std::vector<Hit> hits;
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = w.stats.hops[h];
    SendFigures s = sendFigures(hs);
    double stall_s = static_cast<double>(hs.stall_ns) / 1e9;
    if (s.stalls < kMinStalls || stall_s < kMinStallTimeS) continue;
    uint64_t stream_only = s.stalls - std::min(s.stalls, s.connection_stalls);
    double stream_share = static_cast<double>(stream_only) / static_cast<double>(s.stalls);
    if (stream_share < kMinStreamOnlyShare) continue;
    HopRtt rtt = hopRtt(hs, in.current, h);
    if (rtt.seconds <= 0) continue;  // without an RTT "much later than a round trip" cannot be told
    if (s.mean_stall_s < kMinStallS || s.mean_stall_s < kMinStallRtts * rtt.seconds) continue;
    uint32_t window = smallestPeerWindow(in.current, h);
    double per_rtt = s.throughput * rtt.seconds;
    if (per_rtt >= kMaxWindowUse * window) continue;
    std::string peer = peerLabel(h);
    Finding f;
    f.id = "flow_control.slow_reader";
    f.severity = Severity::kWarning;
    f.layer = Layer::kFlowControl;
    f.title = "The " + peer + " application reads its streams slowly: their windows reopen " +
              "long after a round trip, while the connection window is open";
    f.evidence = {{"stalls", s.stalls},
                  {"stream_only_stall_share", rounded(stream_share)},
                  {"stall_s", rounded(stall_s)},
                  {"mean_stall_s", rounded(s.mean_stall_s)},
                  {"rtt_s", rounded(rtt.seconds)},
                  {"rtt_p50_s", rounded(rtt.p50)},
                  {"rtt_source", rtt.source},
                  {"stall_rtts", rounded(s.mean_stall_s / rtt.seconds)},
                  {"blocked_share", rounded(s.blocked_share)},
                  {"throughput_bytes_per_s", rounded(s.throughput)},
                  {"bytes_per_rtt", rounded(per_rtt)},
                  {"window_bytes", window},
                  {"sent_bytes", s.bytes},
                  {"window_s", rounded(w.seconds)}};
    // Which methods waited most: the methods' stalls count both hops.
    const MethodStats* worst = nullptr;
    std::string worst_name;
    for (const auto& [name, m] : w.stats.methods) {
      if (m.stall_ns > 0 && (!worst || m.stall_ns > worst->stall_ns)) {
        worst = &m;
        worst_name = name;
      }
    }
    if (worst) {
      f.evidence["top_method"] = worst_name;
      f.evidence["top_method_stall_s"] = rounded(static_cast<double>(worst->stall_ns) / 1e9);
    }
    f.recommendation =
        "Make the " + peer +
        " read its streams promptly: a stream's window reopens only as the application reads (a blocking "
        "handler, a full consumer queue, a synchronous callback doing slow work). Read on a dedicated "
        "thread/goroutine and hand work off, or apply backpressure deliberately; raising window sizes "
        "(Go InitialWindowSize, core grpc.http2.lookahead_bytes, Java flowControlWindow) only buffers more "
        "and does not speed the reader up.";
    f.scope = {{"hop", hopLabel(h)}};
    hits.push_back({stall_s, std::move(f)});
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.stall_s > b.stall_s; });
  for (Hit& hit : hits) out.push_back(std::move(hit.f));
}

}  // namespace grpcscope::findings
