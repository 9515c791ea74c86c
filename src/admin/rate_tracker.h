// Totals sampled once a second by the admin side, so /api/summary can give
// rates over a recent window (and the live page a short history).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace grpcscope {

struct RateSample {
  double t = 0;  // seconds since start
  uint64_t calls_started = 0;
  uint64_t calls_finished = 0;
  uint64_t calls_failed = 0;  // finished with a status other than OK
  uint64_t connections_opened = 0;
  uint64_t data_bytes = 0;    // DATA payload received from both hops
};

struct Rates {
  double window_s = 0;  // 0: not enough samples yet
  double calls_started_per_s = 0;
  double calls_finished_per_s = 0;
  double calls_failed_per_s = 0;
  double connections_per_s = 0;
  double data_bytes_per_s = 0;
};

class RateTracker {
 public:
  static constexpr size_t kKeep = 300;  // five minutes of one-second samples

  void add(const RateSample& sample);
  // Rates between the newest sample and the one about window_s before it.
  Rates rates(double window_s) const;
  std::vector<RateSample> history() const;

 private:
  mutable std::mutex mutex_;
  std::deque<RateSample> samples_;
};

}  // namespace grpcscope
