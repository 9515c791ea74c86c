#include "admin/live_feed.h"

#include <charconv>
#include <cstdio>
#include <random>

namespace grpcscope {

LiveFeed::LiveFeed() {
  std::random_device rd;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", rd(), rd());
  boot_ = text;
}

void LiveFeed::publish(uint64_t seq, std::string point, std::string snapshot) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (points_.size() >= kMaxPoints) points_.pop_front();
    points_.push_back({seq, std::move(point)});
    latest_ = {seq, std::make_shared<const std::string>(std::move(snapshot))};
  }
  published_.notify_all();
}

void LiveFeed::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  published_.notify_all();
}

bool LiveFeed::stopped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopped_;
}

std::string LiveFeed::pointsJson(uint64_t after_seq) const {
  std::string out = "[";
  for (const auto& p : points_) {
    if (p.seq <= after_seq) continue;
    if (out.size() > 1) out += ',';
    out += p.json;
  }
  out += ']';
  return out;
}

LiveFeed::Latest LiveFeed::catchUp(std::string_view last_event_id, std::string* history) const {
  // Only an id of this process counts: after a restart the page gets everything.
  uint64_t after = 0;
  if (last_event_id.size() > boot_.size() + 1 && last_event_id.substr(0, boot_.size()) == boot_ &&
      last_event_id[boot_.size()] == '-') {
    std::string_view digits = last_event_id.substr(boot_.size() + 1);
    uint64_t seq = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec == std::errc() && end == digits.data() + digits.size()) after = seq;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  *history = "{\"boot\":\"" + boot_ + "\",\"points\":" + pointsJson(after) + "}";
  return latest_;
}

LiveFeed::Latest LiveFeed::waitNewer(uint64_t seq, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  published_.wait_for(lock, timeout, [&] { return stopped_ || latest_.seq > seq; });
  if (stopped_ || latest_.seq <= seq) return {};
  return latest_;
}

std::string LiveFeed::reportPrefix() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!latest_.snapshot) return "";
  return "{\"boot\":\"" + boot_ + "\",\"points\":" + pointsJson(0) + ",\"snapshot\":" + *latest_.snapshot;
}

}  // namespace grpcscope
