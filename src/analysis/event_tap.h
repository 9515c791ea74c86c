// Finished-call events from the workers to the admin side's /api/events
// subscribers. Each worker publishes into its own single-producer,
// single-consumer ring (no lock on the relay path); the admin side's one
// pump thread drains them. Nothing is built or queued while no one listens,
// and a full ring drops the event (counted) rather than wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace grpcscope {

class EventTap {
 public:
  EventTap(size_t workers, size_t capacity_per_worker = 4096);

  // Worker side.
  bool active() const { return subscribers_.load(std::memory_order_relaxed) > 0; }
  void publish(uint32_t worker, std::string event);
  uint64_t dropped(uint32_t worker) const;

  // Admin side.
  void addSubscriber() { subscribers_.fetch_add(1, std::memory_order_relaxed); }
  void removeSubscriber() { subscribers_.fetch_sub(1, std::memory_order_relaxed); }
  // Single consumer: appends every queued event to `out`.
  void drain(std::vector<std::string>& out);

 private:
  struct Ring {
    explicit Ring(size_t capacity) : slots(capacity) {}
    std::vector<std::string> slots;
    alignas(64) std::atomic<uint64_t> head{0};  // next to write (producer)
    alignas(64) std::atomic<uint64_t> tail{0};  // next to read (consumer)
    std::atomic<uint64_t> dropped{0};
  };
  std::vector<std::unique_ptr<Ring>> rings_;
  std::atomic<int> subscribers_{0};
};

}  // namespace grpcscope
