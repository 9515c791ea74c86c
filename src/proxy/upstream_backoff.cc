#include "proxy/upstream_backoff.h"

#include <algorithm>

namespace grpcscope {

UpstreamBackoff::UpstreamBackoff(const BackoffConfig& config)
    : config_(config), current_ms_(config.initial_ms), rng_(std::random_device{}()) {}

uint64_t UpstreamBackoff::msUntilNextAttempt(uint64_t now_ns) const {
  return now_ns >= next_attempt_ns_ ? 0 : (next_attempt_ns_ - now_ns + 999'999) / 1'000'000;
}

void UpstreamBackoff::onSuccess() {
  failures_ = 0;
  current_ms_ = config_.initial_ms;
  next_attempt_ns_ = 0;
}

void UpstreamBackoff::onFailure(uint64_t now_ns, const std::string& cause) {
  ++failures_;
  last_error_ = cause;
  std::uniform_real_distribution<double> jitter(-config_.jitter, config_.jitter);
  double wait_ms = current_ms_ * (1.0 + jitter(rng_));
  next_attempt_ns_ = now_ns + static_cast<uint64_t>(std::max(0.0, wait_ms) * 1e6);
  current_ms_ = std::min<double>(current_ms_ * config_.multiplier, config_.max_ms);
}

}  // namespace grpcscope
