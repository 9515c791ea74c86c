#include "admin/sse_hub.h"

#include <algorithm>
#include <chrono>

namespace grpcscope {

SseHub::SseHub(EventTap& tap, size_t max_subscribers) : tap_(tap), max_subscribers_(max_subscribers) {}

SseHub::~SseHub() { stop(); }

void SseHub::start() { thread_ = std::thread([this] { pump(); }); }

void SseHub::stop() {
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    subscribers = subscribers_;
  }
  wake_.notify_all();
  for (auto& s : subscribers) {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->closed = true;
    s->ready.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<SseHub::Subscriber> SseHub::subscribe() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_ || subscribers_.size() >= max_subscribers_) return nullptr;
  auto s = std::make_shared<Subscriber>();
  subscribers_.push_back(s);
  tap_.addSubscriber();
  return s;
}

void SseHub::unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find(subscribers_.begin(), subscribers_.end(), subscriber);
  if (it == subscribers_.end()) return;
  subscribers_.erase(it);
  tap_.removeSubscriber();
}

void SseHub::pump() {
  std::vector<std::string> events;
  for (;;) {
    std::vector<std::shared_ptr<Subscriber>> subscribers;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
      if (stopping_) return;
      subscribers = subscribers_;
    }
    events.clear();
    tap_.drain(events);
    if (events.empty()) continue;
    std::vector<SseEvent> shared;
    shared.reserve(events.size());
    for (auto& e : events) shared.push_back({"rpc", std::make_shared<const std::string>(std::move(e))});
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& e : shared) {
        if (recent_.size() >= kRecentCalls) recent_.pop_front();
        recent_.push_back(e.data);
      }
    }
    deliver(subscribers, shared);
  }
}

void SseHub::publish(const char* name, std::string data) {
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    subscribers = subscribers_;
  }
  deliver(subscribers, {{name, std::make_shared<const std::string>(std::move(data))}});
}

std::vector<std::shared_ptr<const std::string>> SseHub::recentCalls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {recent_.begin(), recent_.end()};
}

void SseHub::deliver(const std::vector<std::shared_ptr<Subscriber>>& to, const std::vector<SseEvent>& events) {
  for (const auto& s : to) {
    std::lock_guard<std::mutex> lock(s->mutex);
    for (const auto& e : events) {
      if (s->queue.size() >= kMaxQueued) {
        s->queue.pop_front();
        ++s->dropped;
      }
      s->queue.push_back(e);
    }
    s->ready.notify_all();
  }
}

}  // namespace grpcscope
