#include "analysis/findings/snapshot_history.h"

#include <cmath>

namespace grpcscope::findings {

void SnapshotHistory::add(const StatsSnapshot& snapshot) {
  double now = snapshot.t;
  kept_.emplace_back(now, snapshot.stats);
  // Thin out: past kFineSeconds keep the first snapshot of each coarse step.
  std::deque<std::pair<double, WorkerStats>> thinned;
  double last_step = -1;
  for (auto& entry : kept_) {
    double age = now - entry.first;
    if (age > kKeepSeconds) continue;
    double step = std::floor(entry.first / kCoarseStep);
    if (age > kFineSeconds && step == last_step) continue;
    last_step = step;
    thinned.push_back(std::move(entry));
  }
  kept_.swap(thinned);
}

StatsWindow SnapshotHistory::window(const StatsSnapshot& current, double seconds) const {
  StatsWindow w;
  const std::pair<double, WorkerStats>* base = nullptr;
  for (const auto& entry : kept_) {
    if (entry.first >= current.t) break;
    if (current.t - entry.first + 1e-6 >= seconds) {
      base = &entry;  // the newest one old enough
    } else if (!base) {
      base = &entry;  // younger process: the oldest there is
      break;
    } else {
      break;
    }
  }
  if (!base) return w;
  w.seconds = current.t - base->first;
  w.stats = current.stats;
  w.stats.subtract(base->second);
  return w;
}

}  // namespace grpcscope::findings
