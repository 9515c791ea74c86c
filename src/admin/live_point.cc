#include "admin/live_point.h"

#include <algorithm>
#include <numeric>

namespace grpcscope {
namespace {

using nlohmann::json;

constexpr int kReceived = static_cast<int>(Direction::kReceived);
constexpr int kSent = static_cast<int>(Direction::kSent);
constexpr uint16_t kInitialWindowSizeId = 0x4;        // RFC 9113 section 6.5.2
constexpr uint32_t kDefaultInitialWindow = 65535;     // ... its initial value

const char* hopKey(int h) { return h == 0 ? "downstream" : "upstream"; }

// A per-second rate, or null without a previous collection.
json perSecond(uint64_t now, uint64_t before, double dt) {
  if (dt <= 0) return nullptr;
  return static_cast<double>(now >= before ? now - before : 0) / dt;
}

uint64_t delta(uint64_t now, uint64_t before) { return now >= before ? now - before : 0; }

uint64_t sum(const H2ErrorCounts& counts) { return std::accumulate(counts.begin(), counts.end(), uint64_t{0}); }

json quantileOrNull(const Histogram& h, double q) {
  if (h.count() == 0) return nullptr;
  return h.quantile(q);
}

}  // namespace

json LivePointBuilder::next(const CollectedStats& c, uint64_t seq, double t, double wall,
                            const std::vector<std::string>& raised) {
  const WorkerStats& s = c.stats;
  double dt = have_previous_ ? t - previous_t_ : 0;
  const WorkerStats& p = previous_;

  json point = {{"seq", seq}, {"t", t}, {"wall", wall}};
  uint64_t ok = s.by_status[0], ok_before = p.by_status[0];
  point["calls_per_s"] = perSecond(s.calls_finished, p.calls_finished, dt);
  point["errors_per_s"] = perSecond(s.calls_finished - ok, p.calls_finished - ok_before, dt);

  json latency = {{"count", 0}, {"p50_s", nullptr}, {"p99_s", nullptr}};
  if (have_previous_) {
    Histogram second = s.call_duration;
    second.subtract(p.call_duration);
    latency = {{"count", second.count()}, {"p50_s", quantileOrNull(second, 0.5)},
               {"p99_s", quantileOrNull(second, 0.99)}};
  }
  point["latency"] = latency;

  json bytes = json::object(), rtt = json::object(), pings = json::object(), connections = json::object();
  uint64_t goaways = 0, resets = 0;
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = s.hops[h];
    const HopStats& hp = p.hops[h];
    bytes[hopKey(h)] = {{"sent", perSecond(hs.data_bytes[kSent], hp.data_bytes[kSent], dt)},
                        {"received", perSecond(hs.data_bytes[kReceived], hp.data_bytes[kReceived], dt)}};
    connections[hopKey(h)] = delta(hs.connections_opened, hs.connections_closed);
    for (int d = 0; d < 2; ++d) {
      goaways += delta(sum(hs.goaway[d]), sum(hp.goaway[d]));
      resets += delta(sum(hs.rst[d]), sum(hp.rst[d]));
    }
    json ping_s = nullptr;
    if (have_previous_) {
      Histogram second = hs.ping_rtt;
      second.subtract(hp.ping_rtt);
      ping_s = quantileOrNull(second, 0.5);
    }
    // TCP's smoothed RTT, averaged over the listed connections of this hop.
    double rtt_sum = 0;
    int rtt_n = 0;
    uint32_t strikes = 0;
    for (const auto& view : c.connections) {
      const LegView& leg = view.legs[h];
      if (leg.closed || !leg.opened) continue;
      if (leg.tcp.valid && leg.tcp.rtt_us > 0) {
        rtt_sum += leg.tcp.rtt_us / 1e6;
        ++rtt_n;
      }
      strikes = std::max(strikes, leg.ping_strikes);
    }
    rtt[hopKey(h)] = {{"ping_s", ping_s}, {"tcp_s", rtt_n ? json(rtt_sum / rtt_n) : json(nullptr)}};
    pings[hopKey(h)] = {{"keepalive", have_previous_ ? json(delta(hs.keepalive_pings, hp.keepalive_pings)) : json(nullptr)},
                        {"bdp", have_previous_ ? json(delta(hs.bdp_pings, hp.bdp_pings)) : json(nullptr)},
                        {"after_server_data", have_previous_ ? json(delta(hs.pings_after_server_frames,
                                                                          hp.pings_after_server_frames))
                                                             : json(nullptr)},
                        {"strikes", strikes}};
  }
  point["bytes_per_s"] = std::move(bytes);
  point["active_streams"] = c.active_calls;
  point["connections"] = std::move(connections);
  json marks = {{"goaway", 0}, {"rst_stream", 0}, {"upstream_failures", 0}, {"reconnects", 0},
                {"findings_raised", raised}};
  if (have_previous_) {
    marks["goaway"] = goaways;
    marks["rst_stream"] = resets;
    marks["upstream_failures"] = delta(s.upstream_failures, p.upstream_failures);
    marks["reconnects"] = delta(s.hops[0].connections_opened, p.hops[0].connections_opened);
  }
  point["marks"] = std::move(marks);
  point["rtt"] = std::move(rtt);
  point["pings"] = std::move(pings);

  // The busiest connections of this second: most DATA bytes on both legs.
  std::unordered_map<uint64_t, ConnCounters> counters;
  std::vector<std::pair<uint64_t, size_t>> busiest;  // (bytes this second, index)
  for (size_t i = 0; i < c.connections.size(); ++i) {
    const ConnectionView& view = c.connections[i];
    ConnCounters now;
    for (int h = 0; h < 2; ++h) {
      const LegView& leg = view.legs[h];
      now.legs[h] = {leg.stall_ns, leg.window_updates[kReceived], leg.data_bytes[kSent],
                     leg.data_bytes[kSent] + leg.data_bytes[kReceived]};
    }
    auto before = previous_conns_.find(view.id);
    uint64_t moved = 0;
    for (int h = 0; h < 2; ++h) {
      moved += before == previous_conns_.end() ? now.legs[h].bytes_moved
                                                : delta(now.legs[h].bytes_moved, before->second.legs[h].bytes_moved);
    }
    counters[view.id] = now;
    busiest.emplace_back(moved, i);
  }
  std::sort(busiest.begin(), busiest.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : c.connections[a.second].id < c.connections[b.second].id;
  });
  if (busiest.size() > kMaxFlowConnections) busiest.resize(kMaxFlowConnections);

  json flows = json::array();
  for (const auto& [moved, i] : busiest) {
    (void)moved;
    const ConnectionView& view = c.connections[i];
    const LiveConnectionFacts* live = i < c.live.size() && c.live[i].id == view.id ? &c.live[i] : nullptr;
    auto before = previous_conns_.find(view.id);
    for (int h = 0; h < 2; ++h) {
      const LegView& leg = view.legs[h];
      if (!leg.opened) continue;
      const LegCounters* was = before == previous_conns_.end() ? nullptr : &before->second.legs[h];
      auto initial = leg.settings_received.find(kInitialWindowSizeId);
      json f = {{"conn", view.id},
                {"hop", hopKey(h)},
                {"peer", leg.peer},
                {"peer_initial_window",
                 initial != leg.settings_received.end() ? initial->second : kDefaultInitialWindow},
                {"blocked_streams", leg.blocked_streams}};
      json streams = json::array();
      if (live) {
        const LiveLegFacts& ll = live->legs[h];
        f["send_window"] = ll.remote_window;
        f["receive_window"] = ll.local_window;
        f["pending"] = ll.pending_output;
        for (size_t k = 0; k < ll.busiest_count; ++k) {
          streams.push_back({{"id", ll.busiest[k].stream_id},
                             {"send_window", ll.busiest[k].send_window},
                             {"queued", ll.busiest[k].queued}});
        }
      } else {
        f["send_window"] = nullptr;
        f["receive_window"] = nullptr;
        f["pending"] = nullptr;
      }
      f["streams"] = std::move(streams);
      f["in_flight"] = leg.tcp.valid ? json(uint64_t{leg.tcp.unacked} * leg.tcp.snd_mss) : json(nullptr);
      json throughput = nullptr;
      if (was && dt > 0) {
        f["stalled_s"] = delta(leg.stall_ns, was->stall_ns) / 1e9;
        f["window_updates"] = delta(leg.window_updates[kReceived], was->window_updates_received);
        throughput = delta(leg.data_bytes[kSent], was->bytes_sent) / dt;
      } else {
        f["stalled_s"] = nullptr;
        f["window_updates"] = nullptr;
      }
      f["throughput_bps"] = throughput;
      json rtt_s = leg.tcp.valid && leg.tcp.rtt_us > 0 ? json(leg.tcp.rtt_us / 1e6) : json(nullptr);
      f["rtt_s"] = rtt_s;
      f["bdp_bytes"] = throughput.is_number() && rtt_s.is_number()
                           ? json(throughput.get<double>() * rtt_s.get<double>())
                           : json(nullptr);
      flows.push_back(std::move(f));
    }
  }
  point["flows"] = std::move(flows);

  previous_ = s.totalsOnly();
  previous_t_ = t;
  previous_conns_ = std::move(counters);
  have_previous_ = true;
  return point;
}

}  // namespace grpcscope
