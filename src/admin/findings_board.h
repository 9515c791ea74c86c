// The admin side's diagnosis loop, run once a second by the sampler thread:
// the merged snapshot goes into the history, the windows (last 10 s and 60 s)
// are computed, every rule runs (FindingsEngine), and the results are
// published for the HTTP threads under one mutex. Nothing here runs on a
// relay loop: the workers only copied their statistics.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/stats_collector.h"
#include "analysis/findings/findings_engine.h"
#include "analysis/findings/snapshot_history.h"

namespace grpcscope {

// The two windows published with each evaluation (/api/summary, /api/methods).
struct PublishedWindows {
  findings::StatsWindow last10s;
  findings::StatsWindow last60s;
};

// What /metrics shows of the findings.
struct FindingMetrics {
  struct Active {
    std::string id, severity, layer;
  };
  std::vector<Active> active;                       // one per active finding (ids may repeat over scopes)
  std::map<std::string, uint64_t> raised_totals;    // by id
};

class FindingsBoard {
 public:
  // Takes the collection, evaluates, returns what changed (for the log and SSE).
  std::vector<findings::FindingsEngine::Change> update(CollectedStats collected, double t, uint64_t now_ns,
                                                       double wall_now);

  nlohmann::json findingsJson() const;  // active first, then recently resolved
  FindingMetrics metrics() const;
  std::shared_ptr<const PublishedWindows> windows() const;

 private:
  findings::SnapshotHistory history_;  // sampler thread only
  findings::FindingsEngine engine_;    // sampler thread only
  mutable std::mutex mutex_;           // guards the published parts below
  nlohmann::json findings_ = nlohmann::json::array();
  FindingMetrics metrics_;
  std::shared_ptr<const PublishedWindows> windows_;
};

}  // namespace grpcscope
