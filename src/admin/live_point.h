// One point of the live page's time series (docs/metrics.md, "/api/live"):
// what happened in the last second, from two consecutive cumulative
// collections. The sampler thread makes one a second; nothing here runs on a
// relay loop.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/stats_collector.h"

namespace grpcscope {

class LivePointBuilder {
 public:
  // Connections shown with their flow-control state per point, busiest first.
  static constexpr size_t kMaxFlowConnections = 8;

  // c: this second's collection (with connections); t: uptime; wall: Unix
  // time; raised: ids of the findings raised by this second's evaluation.
  nlohmann::json next(const CollectedStats& c, uint64_t seq, double t, double wall,
                      const std::vector<std::string>& raised);

 private:
  // A leg's cumulative counters, for its per-second differences.
  struct LegCounters {
    uint64_t stall_ns = 0;
    uint64_t window_updates_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t bytes_moved = 0;  // sent + received: how busy the connection was
  };
  struct ConnCounters {
    LegCounters legs[2];
  };

  bool have_previous_ = false;
  double previous_t_ = 0;
  WorkerStats previous_;  // totals only
  std::unordered_map<uint64_t, ConnCounters> previous_conns_;
};

}  // namespace grpcscope
