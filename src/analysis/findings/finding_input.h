// What every rule reads: plain copies, no live state. The admin side takes a
// merged snapshot of all workers once a second (StatsSnapshot); windows are
// differences of two such snapshots (WorkerStats::subtract), so a rule sees
// the totals, the last 10 s and the last 60 s without any clock of its own.
#pragma once

#include <cstdint>
#include <vector>

#include <grpcscope/observer.h>

#include "analysis/analysis_observer.h"
#include "analysis/stats.h"

namespace grpcscope::findings {

struct StatsSnapshot {
  double t = 0;                               // seconds since the process started
  uint64_t now_ns = 0;                        // the workers' clock (uv_hrtime) at t, for connection ages
  WorkerStats stats;                          // cumulative, merged over workers, methods capped
  uint64_t live_connections = 0;
  uint64_t active_calls = 0;
  uint32_t workers = 0;
  uint32_t workers_answered = 0;
  std::vector<ConnectionView> connections;    // live connections (at most the listed maximum)
  std::vector<LiveConnectionFacts> live;      // same order as connections
};

// What happened between an earlier snapshot and the current one.
struct StatsWindow {
  double seconds = 0;  // the span actually covered; 0 before a second snapshot exists
  WorkerStats stats;   // counters and histograms of the span (the wire profile stays cumulative)
  bool empty() const { return seconds <= 0; }
};

struct FindingInput {
  const StatsSnapshot& current;
  const StatsWindow& last10s;
  const StatsWindow& last60s;
};

}  // namespace grpcscope::findings
