// What the flow-control and transport rules share: a hop's round-trip time,
// its sending figures, and the windows its peer advertised. Pure, like the
// rules (docs/findings.md, "Flow control" and "Transport").
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "analysis/findings/rule_support.h"

namespace grpcscope::findings {

// RFC 9113 section 6.9.2: every stream and connection window starts here.
inline constexpr uint32_t kDefaultWindow = 65535;
// RFC 9113 section 6.5.2: SETTINGS_INITIAL_WINDOW_SIZE.
inline constexpr uint16_t kSettingsInitialWindowSize = 0x4;
// A PING RTT needs a few samples before it stands for the path; fewer than
// this and TCP_INFO's smoothed RTT (one sample per connection and second) is used.
inline constexpr uint64_t kMinPingRtts = 3;
inline constexpr uint64_t kMinTcpRtts = 3;

inline const char* hopLabel(int h) { return h == static_cast<int>(Hop::kDownstream) ? "downstream" : "upstream"; }
// The peer of a hop: whose windows limit what grpcscope sends there.
inline const char* peerLabel(int h) { return h == static_cast<int>(Hop::kDownstream) ? "client" : "server"; }

struct HopRtt {
  double seconds = 0;       // the smallest sample: the path's round trip without queueing; 0: unknown
  double p50 = 0;           // the median, with whatever queueing the samples met
  const char* source = "";  // "ping" (relayed PINGs, the application's round trip) or "tcp" (TCP_INFO)
};

// The hop's RTT over a window, from relayed PINGs when there are enough,
// else from TCP. The minimum, as bandwidth-delay products are reckoned (the
// round trip without queueing): a PING queued behind a window's worth of
// DATA or a busy peer's other work comes back late, and the smoothed TCP RTT
// carries delayed ACKs and a loaded host's scheduling (on loopback it reads
// milliseconds for a path of microseconds). For TCP that is the kernel's own
// minimum (TCP_INFO min_rtt) over the hop's live connections, else the
// smallest smoothed sample of the window.
inline double tcpMinRtt(const HopStats& w, const StatsSnapshot& s, int h) {
  double min_rtt = 0;
  for (const ConnectionView& c : s.connections) {
    const TcpInfoSample& t = c.legs[h].tcp;
    if (!c.legs[h].opened || c.legs[h].closed || !t.valid || t.min_rtt_us == 0) continue;
    double v = static_cast<double>(t.min_rtt_us) / 1e6;
    min_rtt = min_rtt == 0 ? v : std::min(min_rtt, v);
  }
  return min_rtt == 0 ? w.tcp_rtt.sketch().min() : min_rtt;
}

inline HopRtt hopRtt(const HopStats& w, const StatsSnapshot& s, int h) {
  if (w.ping_rtt.count() >= kMinPingRtts) return {w.ping_rtt.sketch().min(), w.ping_rtt.quantile(0.5), "ping"};
  if (w.tcp_rtt.count() < kMinTcpRtts) return {};
  return {tcpMinRtt(w, s, h), w.tcp_rtt.quantile(0.5), "tcp"};
}

// What grpcscope sent to a hop's peer over a window.
struct SendFigures {
  uint64_t bytes = 0;          // DATA payload sent
  double active_s = 0;         // HopStats::send_active_ns
  double throughput = 0;       // bytes per second of one connection while it sends
  double blocked_share = 0;    // share of the sending time a stream waited on the peer's window (0..1)
  double mean_stall_s = 0;     // how long one wait lasted on average
  uint64_t stalls = 0;
  uint64_t connection_stalls = 0;
};

inline SendFigures sendFigures(const HopStats& w) {
  SendFigures f;
  f.bytes = w.data_bytes[kSent];
  f.active_s = static_cast<double>(w.send_active_ns) / 1e9;
  if (f.active_s > 0) f.throughput = static_cast<double>(f.bytes) / f.active_s;
  if (w.send_active_ns > 0) {
    f.blocked_share = std::min(1.0, static_cast<double>(w.stall_ns) / static_cast<double>(w.send_active_ns));
  }
  f.stalls = w.stalls;
  f.connection_stalls = w.connection_stalls;
  if (w.stalls > 0) f.mean_stall_s = static_cast<double>(w.stall_ns) / 1e9 / static_cast<double>(w.stalls);
  return f;
}

// The stream window a live leg's peer advertised (SETTINGS_INITIAL_WINDOW_SIZE).
inline uint32_t peerInitialWindow(const LegView& leg) {
  auto it = leg.settings_received.find(kSettingsInitialWindowSize);
  return it == leg.settings_received.end() ? kDefaultWindow : it->second;
}

// The peer's connection window grew past its initial 65535 bytes at some
// point: it returned more than grpcscope had sent it.
inline bool peerGrewConnectionWindow(const LegView& leg) {
  return leg.conn_window_increments_received > leg.data_bytes[kSent];
}

// The smallest initial stream window the peers of live connections on hop
// `h` advertised, among the legs that waited on a window; kDefaultWindow when none is known.
inline uint32_t smallestPeerWindow(const StatsSnapshot& s, int h) {
  uint32_t smallest = 0;
  for (const ConnectionView& c : s.connections) {
    const LegView& leg = c.legs[h];
    if (!leg.opened || leg.stalls == 0) continue;
    uint32_t w = peerInitialWindow(leg);
    smallest = smallest == 0 ? w : std::min(smallest, w);
  }
  return smallest == 0 ? kDefaultWindow : smallest;
}

}  // namespace grpcscope::findings
