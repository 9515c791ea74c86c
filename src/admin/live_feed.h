// What /api/live serves (docs/metrics.md, "/api/live"): the last
// kMaxPoints one-second points and the latest snapshot, published by the
// sampler thread and read by the admin threads that stream them. A page
// opened late, or reconnecting, gets the past minutes at once; the event ids
// ("<boot>-<seq>") tell a reconnect to the same process (send what it missed)
// from one to a restarted grpcscope (send everything).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace grpcscope {

class LiveFeed {
 public:
  static constexpr size_t kMaxPoints = 300;  // five minutes of one-second points

  LiveFeed();  // a boot id of its own (random)

  const std::string& boot() const { return boot_; }

  // Sampler thread: one second's point and snapshot (JSON texts).
  void publish(uint64_t seq, std::string point, std::string snapshot);
  // Wakes every waiter for good.
  void stop();
  bool stopped() const;

  struct Latest {
    uint64_t seq = 0;  // 0: nothing published yet
    std::shared_ptr<const std::string> snapshot;
  };
  // The JSON of `{"boot", "points": [...]}` with the points a client that saw
  // `last_event_id` ("<boot>-<seq>", or empty) misses, and the latest snapshot.
  Latest catchUp(std::string_view last_event_id, std::string* history) const;
  // Blocks until a snapshot newer than `seq` is published (returned), the
  // timeout passes or stop() (seq 0 returned).
  Latest waitNewer(uint64_t seq, std::chrono::milliseconds timeout) const;
  // {"boot", "points", "snapshot"} without the closing brace, for /report.html
  // (the caller adds its own members); empty before the first publish.
  std::string reportPrefix() const;

  std::string eventId(uint64_t seq) const { return boot_ + "-" + std::to_string(seq); }

 private:
  struct Point {
    uint64_t seq;
    std::string json;
  };
  std::string pointsJson(uint64_t after_seq) const;  // caller holds mutex_

  std::string boot_;
  mutable std::mutex mutex_;
  mutable std::condition_variable published_;
  bool stopped_ = false;
  std::deque<Point> points_;
  Latest latest_;
};

}  // namespace grpcscope
