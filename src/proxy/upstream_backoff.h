// Reconnection pacing toward one upstream, per worker. A pure policy (no
// libuv, no clock of its own: callers pass uv_hrtime() nanoseconds), so that
// it is tested on its own (test/unit/upstream_backoff_test.cc).
//
// Follows gRPC's connection backoff (doc/connection-backoff.md): exponential
// with jitter, reset on success. What gRPC gets for free from having one
// subchannel per address, a proxy that opens one upstream connection per
// client connection must do by hand:
//   - While healthy (no failure since the last success) any number of
//     attempts may run at once: every client connection gets its own.
//   - Attempts carry the generation they began in. The first failure of the
//     current generation counts (one backoff step) and starts a new
//     generation; failures of attempts that began before it are the same
//     outage seen again by concurrent connections and do not multiply the
//     backoff (20 clients arriving during a restart are one failure, not 20).
//   - After a failure only one attempt at a time (the probe) may run, once the
//     backoff has passed. Other connections are answered at once (UNAVAILABLE,
//     naming the last cause) meanwhile, so that a dead server sees one attempt
//     per interval instead of a storm.
//   - Any success resets the backoff and starts a new generation.
//   - An attempt that ends without a verdict (the client left during the
//     connect, the relay closed) must be abandoned, which frees the probe slot;
//     otherwise the worker would refuse every connection from then on.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include <grpcscope/config.h>

namespace grpcscope {

class UpstreamBackoff {
 public:
  // One connect attempt's claim; id 0 is "no attempt".
  struct Ticket {
    uint64_t id = 0;
    uint64_t generation = 0;
    explicit operator bool() const { return id != 0; }
  };

  enum class Verdict {
    kGo,             // connect now with the ticket
    kBackingOff,     // refused: msUntilNextAttempt() > 0
    kProbeInFlight,  // refused: the one attempt allowed after a failure is running
  };

  explicit UpstreamBackoff(const BackoffConfig& config);
  UpstreamBackoff(const BackoffConfig& config, uint32_t seed);  // tests: reproducible jitter

  // Asks to start an attempt at now_ns; fills `ticket` when the answer is kGo.
  Verdict begin(uint64_t now_ns, Ticket* ticket);
  // The attempt's outcome. Each ticket ends exactly once, by one of these
  // three; a ticket that is not (or no longer) current is ignored where the
  // rules above say so. The ticket is cleared.
  void onSuccess(Ticket* ticket);
  void onFailure(Ticket* ticket, uint64_t now_ns, const std::string& cause);
  void abandon(Ticket* ticket);

  // True when an attempt would be allowed at now_ns.
  bool mayConnect(uint64_t now_ns) const { return probe_id_ == 0 && now_ns >= next_attempt_ns_; }
  bool probeInFlight() const { return probe_id_ != 0; }
  uint64_t msUntilNextAttempt(uint64_t now_ns) const;
  const std::string& lastError() const { return last_error_; }
  // Counted failures since the last success (a generation's failures count once).
  uint32_t consecutiveFailures() const { return failures_; }
  uint64_t generation() const { return generation_; }
  // The wait the next counted failure will impose, before jitter.
  double currentBackoffMs() const { return current_ms_; }

 private:
  BackoffConfig config_;
  double current_ms_;
  uint64_t next_attempt_ns_ = 0;
  uint32_t failures_ = 0;
  uint64_t generation_ = 1;
  uint64_t next_ticket_id_ = 1;
  uint64_t probe_id_ = 0;  // the probe in flight after a failure; 0: none
  std::string last_error_;
  std::minstd_rand rng_;
};

}  // namespace grpcscope
