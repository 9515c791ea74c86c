#include "proxy/shutdown_notice_filter.h"

#include <algorithm>

namespace grpcscope {
namespace {

constexpr uint8_t kGoaway = 0x7;
constexpr uint32_t kLastStreamId = 0x7fffffff;

uint32_t read32(const std::string& s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

bool ShutdownNoticeFilter::flushHeld(Sink& sink) {
  bool ok = sink.pass(reinterpret_cast<const uint8_t*>(held_.data()), held_.size());
  held_.clear();
  held_want_ = kHeader;
  return ok;
}

bool ShutdownNoticeFilter::feed(const uint8_t* data, size_t len, Sink& sink) {
  size_t pos = 0;
  while (pos < len) {
    if (frame_left_ > 0) {
      // Inside a frame that is passed through: hand over the whole run.
      size_t run = std::min(frame_left_, len - pos);
      if (!sink.pass(data + pos, run)) return false;
      frame_left_ -= run;
      pos += run;
      continue;
    }
    size_t take = std::min(held_want_ - held_.size(), len - pos);
    held_.append(reinterpret_cast<const char*>(data + pos), take);
    pos += take;
    if (held_.size() < held_want_) break;  // more bytes next time
    size_t length = static_cast<size_t>(read32(held_, 0) >> 8);
    uint8_t type = static_cast<uint8_t>(held_[3]);
    uint32_t stream = read32(held_, 5) & 0x7fffffff;
    if (held_want_ == kHeader) {
      if (type == kGoaway && stream == 0 && length >= 8 && length + kHeader <= kMaxNotice) {
        held_want_ = kHeader + length;  // judge the GOAWAY once it is whole
        continue;
      }
      frame_left_ = length;
      if (!flushHeld(sink)) return false;
      continue;
    }
    // A whole GOAWAY: a notice is kept from the codec, any other passes.
    uint32_t last = read32(held_, kHeader) & 0x7fffffff;
    uint32_t code = read32(held_, kHeader + 4);
    if (last == kLastStreamId && code == 0) {
      std::string_view frame(held_);
      sink.notice(frame, frame.substr(kHeader + 8));
      held_.clear();
      held_want_ = kHeader;
      continue;
    }
    if (!flushHeld(sink)) return false;
  }
  return true;
}

}  // namespace grpcscope
