#include "admin/rate_tracker.h"

namespace grpcscope {

void RateTracker::add(const RateSample& sample) {
  std::lock_guard<std::mutex> lock(mutex_);
  samples_.push_back(sample);
  while (samples_.size() > kKeep) samples_.pop_front();
}

Rates RateTracker::rates(double window_s) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Rates r;
  if (samples_.size() < 2) return r;
  const RateSample& last = samples_.back();
  const RateSample* first = &samples_.front();
  for (auto it = samples_.rbegin(); it != samples_.rend(); ++it) {
    first = &*it;
    if (last.t - it->t >= window_s) break;
  }
  double dt = last.t - first->t;
  if (dt <= 0) return r;
  auto per_s = [dt](uint64_t a, uint64_t b) { return b >= a ? static_cast<double>(b - a) / dt : 0.0; };
  r.window_s = dt;
  r.calls_started_per_s = per_s(first->calls_started, last.calls_started);
  r.calls_finished_per_s = per_s(first->calls_finished, last.calls_finished);
  r.calls_failed_per_s = per_s(first->calls_failed, last.calls_failed);
  r.connections_per_s = per_s(first->connections_opened, last.connections_opened);
  r.data_bytes_per_s = per_s(first->data_bytes, last.data_bytes);
  return r;
}

std::vector<RateSample> RateTracker::history() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {samples_.begin(), samples_.end()};
}

}  // namespace grpcscope
