// The cumulative snapshots kept to compute windows: every one of the last
// kFineSeconds, then one per kCoarseStep seconds back to kKeepSeconds. A
// window of w seconds is the current snapshot minus the newest kept one at
// least w seconds older (or the oldest, when the process is younger): its
// span is w to w + kCoarseStep seconds, and StatsWindow::seconds says which.
#pragma once

#include <deque>
#include <utility>

#include "analysis/findings/finding_input.h"

namespace grpcscope::findings {

class SnapshotHistory {
 public:
  static constexpr double kFineSeconds = 12;  // covers the 10 s window at one-second steps
  static constexpr double kCoarseStep = 5;
  static constexpr double kKeepSeconds = 66;  // covers the 60 s window

  // Snapshots arrive in time order (t grows).
  void add(const StatsSnapshot& snapshot);
  // current minus the kept snapshot at least `seconds` before it.
  StatsWindow window(const StatsSnapshot& current, double seconds) const;
  size_t kept() const { return kept_.size(); }

 private:
  std::deque<std::pair<double, WorkerStats>> kept_;  // (t, stats), oldest first
};

}  // namespace grpcscope::findings
