#include "proxy/upstream_backoff.h"

#include <algorithm>

namespace grpcscope {

UpstreamBackoff::UpstreamBackoff(const BackoffConfig& config) : UpstreamBackoff(config, std::random_device{}()) {}

UpstreamBackoff::UpstreamBackoff(const BackoffConfig& config, uint32_t seed)
    : config_(config), current_ms_(config.initial_ms), rng_(seed) {}

uint64_t UpstreamBackoff::msUntilNextAttempt(uint64_t now_ns) const {
  return now_ns >= next_attempt_ns_ ? 0 : (next_attempt_ns_ - now_ns + 999'999) / 1'000'000;
}

UpstreamBackoff::Verdict UpstreamBackoff::begin(uint64_t now_ns, Ticket* ticket) {
  *ticket = Ticket{};
  if (failures_ > 0) {
    if (probe_id_ != 0) return Verdict::kProbeInFlight;
    if (now_ns < next_attempt_ns_) return Verdict::kBackingOff;
  }
  ticket->id = next_ticket_id_++;
  ticket->generation = generation_;
  // After a failure, the one attempt allowed is the probe.
  if (failures_ > 0) probe_id_ = ticket->id;
  return Verdict::kGo;
}

void UpstreamBackoff::onSuccess(Ticket* ticket) {
  if (!*ticket) return;
  *ticket = Ticket{};
  // Any success proves the upstream reachable now, even one of an attempt
  // that began before the last counted failure. A new generation, so that
  // failures of attempts older than this success do not count.
  failures_ = 0;
  current_ms_ = config_.initial_ms;
  next_attempt_ns_ = 0;
  probe_id_ = 0;
  ++generation_;
}

void UpstreamBackoff::onFailure(Ticket* ticket, uint64_t now_ns, const std::string& cause) {
  if (!*ticket) return;
  Ticket t = *ticket;
  *ticket = Ticket{};
  if (t.id == probe_id_) probe_id_ = 0;
  // An attempt that began before the failure already counted is the same
  // outage seen again by a concurrent connection.
  if (t.generation != generation_) return;
  ++generation_;
  ++failures_;
  last_error_ = cause;
  std::uniform_real_distribution<double> jitter(-config_.jitter, config_.jitter);
  double wait_ms = current_ms_ * (1.0 + (config_.jitter > 0 ? jitter(rng_) : 0.0));
  next_attempt_ns_ = now_ns + static_cast<uint64_t>(std::max(0.0, wait_ms) * 1e6);
  current_ms_ = std::min<double>(current_ms_ * config_.multiplier, config_.max_ms);
}

void UpstreamBackoff::abandon(Ticket* ticket) {
  if (!*ticket) return;
  if (ticket->id == probe_id_) probe_id_ = 0;
  *ticket = Ticket{};
}

}  // namespace grpcscope
