// /api/events fan-out on the admin side: one pump thread moves finished-call
// events (`event: rpc`) from the workers' rings (EventTap) to each
// subscriber's bounded queue; the sampler publishes others (`event: finding`)
// the same way. A slow subscriber loses its oldest events (counted), never
// slows the workers or the other subscribers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "analysis/event_tap.h"

namespace grpcscope {

struct SseEvent {
  const char* name;  // the SSE event type: "rpc", "finding"
  std::shared_ptr<const std::string> data;  // one line of JSON
};

class SseHub {
 public:
  struct Subscriber {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<SseEvent> queue;
    uint64_t dropped = 0;
    bool closed = false;
  };

  static constexpr size_t kMaxQueued = 10000;
  // Finished calls kept for /report.html's call log (only those the pump
  // moved: the tap records calls while someone subscribes).
  static constexpr size_t kRecentCalls = 200;

  SseHub(EventTap& tap, size_t max_subscribers);
  ~SseHub();

  void start();
  void stop();  // wakes every subscriber with closed = true

  // Null when max_subscribers are connected already.
  std::shared_ptr<Subscriber> subscribe();
  void unsubscribe(const std::shared_ptr<Subscriber>& subscriber);
  // Queues one event for every subscriber (any thread). name: a string literal.
  void publish(const char* name, std::string data);
  // The last kRecentCalls `rpc` events' data, oldest first.
  std::vector<std::shared_ptr<const std::string>> recentCalls() const;

 private:
  void pump();
  void deliver(const std::vector<std::shared_ptr<Subscriber>>& to, const std::vector<SseEvent>& events);

  EventTap& tap_;
  size_t max_subscribers_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<const std::string>> recent_;  // guarded by mutex_
  bool stopping_ = false;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::thread thread_;
};

}  // namespace grpcscope
