// Reconnection pacing toward one upstream, per worker. After a failed
// connect, new connections are answered at once (UNAVAILABLE, naming the
// last cause) until the backoff has passed, so that a dead server sees one
// attempt per interval instead of a storm. Follows gRPC's connection backoff
// (doc/connection-backoff.md): exponential with jitter, reset on success.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include <grpcscope/config.h>

namespace grpcscope {

class UpstreamBackoff {
 public:
  explicit UpstreamBackoff(const BackoffConfig& config);

  // True when a connect may be tried at now_ns.
  bool mayConnect(uint64_t now_ns) const { return now_ns >= next_attempt_ns_; }
  uint64_t msUntilNextAttempt(uint64_t now_ns) const;
  const std::string& lastError() const { return last_error_; }
  uint32_t consecutiveFailures() const { return failures_; }

  void onSuccess();
  void onFailure(uint64_t now_ns, const std::string& cause);

 private:
  BackoffConfig config_;
  double current_ms_;
  uint64_t next_attempt_ns_ = 0;
  uint32_t failures_ = 0;
  std::string last_error_;
  std::minstd_rand rng_;
};

}  // namespace grpcscope
