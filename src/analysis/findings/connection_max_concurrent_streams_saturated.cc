// connection.max_concurrent_streams_saturated: connections sit at the
// SETTINGS_MAX_CONCURRENT_STREAMS their peer advertised (RFC 9113 section
// 5.1.2) for a large share of the time they are in use: a new call cannot
// open a stream and waits in the client's queue (gRPC clients queue calls
// beyond the limit rather than fail them), which shows as latency the
// server never sees. Measured by the observer as time with as many calls
// open as the limit allows (HopStats::stream_limit_full_ns) out of the time
// such connections had calls open (stream_limit_busy_ns), over the last 10 s.
//
// Upstream the limit is the server's; downstream it is what grpcscope offers
// the client: the server's, mirrored, or grpcscope's own
// limits.max_concurrent_streams when the server set none. A limit that the
// server set saturates both hops at once: reported once, upstream.
#include <limits>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint16_t kMaxConcurrentStreams = 0x3;  // RFC 9113 section 6.5.2
// A quarter of the busy time at the limit: calls then regularly wait for a
// stream, not once in a burst.
constexpr double kMinFullShare = 0.25;
// At least 3 s of connection time with calls open in the window, so that a
// burst at start-up or a single connection's moment does not count.
constexpr double kMinBusyS = 3;

double secondsOf(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

struct LiveLimits {
  uint32_t lowest = 0;          // the lowest limit seen on a live connection (0: none)
  uint64_t connections = 0;     // live connections with a limit
  uint64_t at_limit_now = 0;    // ... with as many streams open as it allows
};

LiveLimits liveLimits(const StatsSnapshot& s, Hop hop) {
  LiveLimits out;
  int h = static_cast<int>(hop);
  for (size_t i = 0; i < s.connections.size(); ++i) {
    const LegView& leg = s.connections[i].legs[h];
    if (!leg.opened || leg.closed) continue;
    const auto& settings = hop == Hop::kUpstream ? leg.settings_received : leg.settings_sent;
    auto it = settings.find(kMaxConcurrentStreams);
    if (it == settings.end() || it->second == 0) continue;
    ++out.connections;
    out.lowest = out.lowest == 0 ? it->second : std::min(out.lowest, it->second);
    if (i < s.live.size() && s.live[i].legs[h].open && s.live[i].legs[h].open_streams >= it->second) {
      ++out.at_limit_now;
    }
  }
  return out;
}

}  // namespace

void connectionMaxConcurrentStreamsSaturated(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = in.last10s;
  if (w.empty()) return;
  bool upstream_reported = false;
  for (Hop hop : {Hop::kUpstream, Hop::kDownstream}) {
    const HopStats& hs = w.stats.hops[static_cast<int>(hop)];
    double busy_s = secondsOf(hs.stream_limit_busy_ns);
    double full_s = secondsOf(hs.stream_limit_full_ns);
    if (busy_s < kMinBusyS) continue;
    double share = full_s / busy_s;
    if (share < kMinFullShare) continue;
    if (hop == Hop::kDownstream && upstream_reported) continue;  // the server's limit, mirrored
    LiveLimits live = liveLimits(in.current, hop);
    Finding f;
    f.id = "connection.max_concurrent_streams_saturated";
    f.severity = Severity::kWarning;  // calls wait; none fail
    f.layer = Layer::kConnection;
    f.scope = {{"hop", hopName(hop)}};
    f.evidence = {{"at_limit_share", rounded(share)},
                  {"at_limit_s", rounded(full_s)},
                  {"busy_s", rounded(busy_s)},
                  {"window_s", rounded(w.seconds)},
                  {"live_connections_with_limit", live.connections},
                  {"live_connections_at_limit", live.at_limit_now}};
    if (live.lowest > 0) f.evidence["max_concurrent_streams"] = live.lowest;
    if (hop == Hop::kUpstream) {
      upstream_reported = true;
      f.title = "Connections to the server are at its SETTINGS_MAX_CONCURRENT_STREAMS: new calls wait for a stream";
      f.recommendation =
          "Raise the server's limit on concurrent streams per connection, or spread the calls over more "
          "connections. Server: Go grpc.MaxConcurrentStreams(n); C++/Python channel argument "
          "grpc.max_concurrent_streams (GRPC_ARG_MAX_CONCURRENT_STREAMS, e.g. ServerBuilder::AddChannelArgument); "
          "Java NettyServerBuilder.maxConcurrentCallsPerConnection(n); Node server option "
          "grpc.max_concurrent_streams. Client: a small pool of channels (C++/Python: each with "
          "grpc.use_local_subchannel_pool and a channel argument of its own, or they share one connection), "
          "or more server instances behind a load-balancing policy such as round_robin.";
    } else {
      f.title = "Clients are at the SETTINGS_MAX_CONCURRENT_STREAMS grpcscope offers them: new calls wait for a stream";
      f.recommendation =
          "The server sets no stream limit, so grpcscope offers the client its own (--max-concurrent-streams, "
          "config limits.max_concurrent_streams, default 1000) and the client fills it. Raise that limit, or spread the client's calls over "
          "a small pool of channels (C++/Python: each with grpc.use_local_subchannel_pool and a channel argument "
          "of its own).";
    }
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
