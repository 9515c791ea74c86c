#include "admin/stats_collector.h"

#include <future>
#include <memory>
#include <unordered_map>

#include "proxy/worker.h"

namespace grpcscope {

StatsCollector::StatsCollector(std::vector<Worker*> workers, std::vector<AnalysisObserver*> observers,
                               size_t max_methods)
    : workers_(std::move(workers)), observers_(std::move(observers)), max_methods_(max_methods) {}

CollectedStats StatsCollector::collect(bool with_methods, bool with_connections, size_t max_connections,
                                       std::chrono::milliseconds timeout) const {
  CollectedStats out;
  out.workers = static_cast<uint32_t>(workers_.size());
  std::vector<std::future<WorkerSnapshot>> pending;
  for (size_t i = 0; i < workers_.size(); ++i) {
    auto promise = std::make_shared<std::promise<WorkerSnapshot>>();
    pending.push_back(promise->get_future());
    Worker* worker = workers_[i];
    AnalysisObserver* observer = observers_[i];
    bool posted = worker->post([promise, worker, observer, with_methods, with_connections, max_connections] {
      WorkerSnapshot snap = observer->snapshot(with_methods, with_connections, max_connections);
      if (with_connections) snap.live = worker->liveFacts();
      promise->set_value(std::move(snap));
    });
    if (!posted) pending.back() = {};
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& f : pending) {
    if (!f.valid() || f.wait_until(deadline) != std::future_status::ready) continue;
    WorkerSnapshot snap = f.get();
    ++out.workers_answered;
    out.stats.merge(snap.stats);
    out.live_connections += snap.live_connections;
    out.active_calls += snap.active_calls;
    if (!with_connections) continue;
    std::unordered_map<uint64_t, const LiveConnectionFacts*> by_id;
    for (const auto& l : snap.live) by_id[l.id] = &l;
    for (auto& c : snap.connections) {
      if (out.connections.size() >= max_connections) break;
      auto it = by_id.find(c.id);
      out.live.push_back(it == by_id.end() ? LiveConnectionFacts{} : *it->second);
      out.connections.push_back(std::move(c));
    }
  }
  out.stats.capMethods(max_methods_);
  return out;
}

}  // namespace grpcscope
