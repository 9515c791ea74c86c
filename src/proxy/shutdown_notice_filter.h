// Finds a server's graceful-shutdown notice in the bytes it sends: a GOAWAY
// with last stream id 2^31-1 and NO_ERROR (RFC 9113 section 6.8: "a server
// that is attempting to gracefully shut down a connection SHOULD send an
// initial GOAWAY frame with the last stream identifier set to 2^31-1").
//
// Why the relay takes the notice out of nghttp2's input: nghttp2's client
// session refuses to open any stream once it has received a GOAWAY, whatever
// its last stream id, while the server still accepts new streams until its
// final GOAWAY. Handing the notice to nghttp2 would make grpcscope refuse
// calls the server would take during its grace period. The final GOAWAY (a
// real last stream id) goes to nghttp2 as usual.
//
// The filter follows frame boundaries (RFC 9113 section 4.1: 9-byte header,
// 24-bit length) across reads of any size; bytes other than the notices
// pass through unchanged and in order. Pure: no I/O, no nghttp2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace grpcscope {

class ShutdownNoticeFilter {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    // Bytes for the codec, in order; false stops the feed (the codec failed).
    virtual bool pass(const uint8_t* data, size_t len) = 0;
    // A whole notice frame (header and payload) and its debug data.
    virtual void notice(std::string_view frame, std::string_view debug_data) = 0;
  };

  // Feeds the next bytes the server sent. False when the sink stopped it.
  bool feed(const uint8_t* data, size_t len, Sink& sink);

 private:
  static constexpr size_t kHeader = 9;
  // A GOAWAY longer than this is no notice worth keeping whole: it passes
  // through (the codec judges it against its own frame size limit).
  static constexpr size_t kMaxNotice = 16384 + kHeader;

  bool flushHeld(Sink& sink);

  size_t frame_left_ = 0;   // payload bytes of the current frame still to pass
  std::string held_;        // a frame header in progress, or a GOAWAY being judged
  size_t held_want_ = kHeader;  // bytes held_ needs before a decision
};

}  // namespace grpcscope
