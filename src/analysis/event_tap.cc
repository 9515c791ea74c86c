#include "analysis/event_tap.h"

namespace grpcscope {

EventTap::EventTap(size_t workers, size_t capacity_per_worker) {
  for (size_t i = 0; i < workers; ++i) rings_.push_back(std::make_unique<Ring>(capacity_per_worker));
}

void EventTap::publish(uint32_t worker, std::string event) {
  Ring& r = *rings_.at(worker);
  uint64_t head = r.head.load(std::memory_order_relaxed);
  if (head - r.tail.load(std::memory_order_acquire) >= r.slots.size()) {
    r.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  r.slots[head % r.slots.size()] = std::move(event);
  r.head.store(head + 1, std::memory_order_release);
}

uint64_t EventTap::dropped(uint32_t worker) const { return rings_.at(worker)->dropped.load(std::memory_order_relaxed); }

void EventTap::drain(std::vector<std::string>& out) {
  for (auto& rp : rings_) {
    Ring& r = *rp;
    uint64_t tail = r.tail.load(std::memory_order_relaxed);
    uint64_t head = r.head.load(std::memory_order_acquire);
    for (; tail < head; ++tail) out.push_back(std::move(r.slots[tail % r.slots.size()]));
    r.tail.store(tail, std::memory_order_release);
  }
}

}  // namespace grpcscope
