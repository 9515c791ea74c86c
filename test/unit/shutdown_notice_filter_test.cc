// ShutdownNoticeFilter on byte vectors: the notice (GOAWAY, last stream id
// 2^31-1, NO_ERROR) is taken out whole, every other byte passes in order,
// however the input is split.
#include "proxy/shutdown_notice_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace grpcscope {
namespace {

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  uint32_t len = static_cast<uint32_t>(payload.size());
  f.push_back(static_cast<char>(len >> 16));
  f.push_back(static_cast<char>(len >> 8));
  f.push_back(static_cast<char>(len));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>(stream >> shift));
  return f + payload;
}

std::string goaway(uint32_t last, uint32_t code, const std::string& debug) {
  std::string p;
  for (uint32_t v : {last, code}) {
    for (int shift = 24; shift >= 0; shift -= 8) p.push_back(static_cast<char>(v >> shift));
  }
  return frame(0x7, 0, 0, p + debug);
}

struct Recorder : ShutdownNoticeFilter::Sink {
  std::string passed;
  std::vector<std::string> frames;
  std::vector<std::string> debug;
  bool pass(const uint8_t* data, size_t len) override {
    passed.append(reinterpret_cast<const char*>(data), len);
    return true;
  }
  void notice(std::string_view f, std::string_view d) override {
    frames.emplace_back(f);
    debug.emplace_back(d);
  }
};

// A server's graceful shutdown as gRPC sends it, amid ordinary frames.
struct Wire {
  std::string before = frame(0x4, 0, 0, std::string(6, '\1')) + frame(0x0, 0, 1, std::string(300, 'd'));
  std::string notice = goaway(0x7fffffff, 0, "max_age");
  std::string after = frame(0x6, 0, 0, "\1\6\1\10\0\3\3\11") + goaway(1, 0, "") +
                      goaway(0x7fffffff, 0xb, "too_many_pings") + frame(0x0, 1, 1, "end");
  std::string all() const { return before + notice + after; }
};

TEST(ShutdownNoticeFilterTest, TakesTheNoticeOutAndPassesTheRest) {
  Wire w;
  ShutdownNoticeFilter filter;
  Recorder r;
  std::string in = w.all();
  ASSERT_TRUE(filter.feed(reinterpret_cast<const uint8_t*>(in.data()), in.size(), r));
  EXPECT_EQ(r.passed, w.before + w.after) << "a GOAWAY with another code or last stream id passes";
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0], w.notice);
  EXPECT_EQ(r.debug[0], "max_age");
}

TEST(ShutdownNoticeFilterTest, AnySplitGivesTheSameResult) {
  Wire w;
  std::string in = w.all();
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    ShutdownNoticeFilter filter;
    Recorder r;
    filter.feed(reinterpret_cast<const uint8_t*>(in.data()), cut, r);
    filter.feed(reinterpret_cast<const uint8_t*>(in.data()) + cut, in.size() - cut, r);
    ASSERT_EQ(r.passed, w.before + w.after) << "split at " << cut;
    ASSERT_EQ(r.frames.size(), 1u) << "split at " << cut;
    ASSERT_EQ(r.debug[0], "max_age") << "split at " << cut;
  }
  ShutdownNoticeFilter filter;
  Recorder r;
  for (char c : in) filter.feed(reinterpret_cast<const uint8_t*>(&c), 1, r);
  EXPECT_EQ(r.passed, w.before + w.after) << "byte by byte";
  EXPECT_EQ(r.frames.size(), 1u);
}

TEST(ShutdownNoticeFilterTest, AnOversizedOrMalformedGoawayPassesToTheCodec) {
  std::string huge = goaway(0x7fffffff, 0, std::string(20000, 'x'));
  std::string shorty = frame(0x7, 0, 0, "\x7f\xff\xff\xff");  // 4 bytes: the codec's FRAME_SIZE_ERROR
  std::string on_stream = frame(0x7, 0, 3, std::string("\x7f\xff\xff\xff\0\0\0\0", 8));
  std::string in = huge + shorty + on_stream;
  ShutdownNoticeFilter filter;
  Recorder r;
  filter.feed(reinterpret_cast<const uint8_t*>(in.data()), in.size(), r);
  EXPECT_EQ(r.passed, in);
  EXPECT_TRUE(r.frames.empty());
}

TEST(ShutdownNoticeFilterTest, StopsWhenTheCodecFails) {
  struct Failing : Recorder {
    bool pass(const uint8_t* data, size_t len) override {
      Recorder::pass(data, len);
      return false;
    }
  } r;
  Wire w;
  std::string in = w.all();
  ShutdownNoticeFilter filter;
  EXPECT_FALSE(filter.feed(reinterpret_cast<const uint8_t*>(in.data()), in.size(), r));
  EXPECT_TRUE(r.frames.empty()) << "nothing after the failure is looked at";
}

}  // namespace
}  // namespace grpcscope
