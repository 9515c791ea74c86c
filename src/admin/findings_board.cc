#include "admin/findings_board.h"

#include "analysis/findings/rules.h"

namespace grpcscope {

std::vector<findings::FindingsEngine::Change> FindingsBoard::update(CollectedStats collected, double t,
                                                                    uint64_t now_ns, double wall_now) {
  findings::StatsSnapshot snap;
  snap.t = t;
  snap.now_ns = now_ns;
  snap.stats = std::move(collected.stats);
  snap.live_connections = collected.live_connections;
  snap.active_calls = collected.active_calls;
  snap.workers = collected.workers;
  snap.workers_answered = collected.workers_answered;
  snap.connections = std::move(collected.connections);
  snap.live = std::move(collected.live);
  auto windows = std::make_shared<PublishedWindows>();
  // A snapshot missing a worker would make every window negative: skip the windows then.
  bool whole = snap.workers_answered == snap.workers;
  if (whole) {
    windows->last10s = history_.window(snap, 10);
    windows->last60s = history_.window(snap, 60);
    history_.add(snap);
  }
  findings::FindingInput in{snap, windows->last10s, windows->last60s};
  auto changes = engine_.evaluate(in, findings::allRules(), wall_now);

  nlohmann::json list = nlohmann::json::array();
  FindingMetrics m;
  for (const auto& r : engine_.records()) {
    list.push_back(findings::findingJson(r));
    if (r.active) {
      m.active.push_back({r.finding.id, std::string(findings::severityName(r.finding.severity)),
                          std::string(findings::layerName(r.finding.layer))});
    }
  }
  m.raised_totals = engine_.raisedTotals();
  std::lock_guard<std::mutex> lock(mutex_);
  findings_ = std::move(list);
  metrics_ = std::move(m);
  windows_ = std::move(windows);
  return changes;
}

nlohmann::json FindingsBoard::findingsJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return findings_;
}

FindingMetrics FindingsBoard::metrics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_;
}

std::shared_ptr<const PublishedWindows> FindingsBoard::windows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return windows_;
}

}  // namespace grpcscope
