// The admin side's view of the workers: asks each worker's loop for a
// snapshot of its AnalysisObserver (Worker::post, so the relay path takes no
// lock) and merges them. A worker that does not answer within the timeout is
// left out and reported as such.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "analysis/analysis_observer.h"

namespace grpcscope {

class Worker;

struct CollectedStats {
  WorkerStats stats;                          // merged; methods capped to max_methods
  uint64_t live_connections = 0;
  uint64_t active_calls = 0;
  uint32_t workers = 0;
  uint32_t workers_answered = 0;
  std::vector<ConnectionView> connections;    // with_connections only
  std::vector<LiveConnectionFacts> live;      // same order as connections (id matched per worker)
};

class StatsCollector {
 public:
  // Pairs of a worker and its observer (same index). Both outlive the collector's use.
  StatsCollector(std::vector<Worker*> workers, std::vector<AnalysisObserver*> observers, size_t max_methods);

  // with_methods: per-method (and per-client) statistics too; with_connections:
  // up to max_connections live connections.
  CollectedStats collect(bool with_methods, bool with_connections, size_t max_connections,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) const;

 private:
  std::vector<Worker*> workers_;
  std::vector<AnalysisObserver*> observers_;
  size_t max_methods_;
};

}  // namespace grpcscope
