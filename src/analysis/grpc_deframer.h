// Splits one direction of a gRPC stream into messages: the 5-byte prefix
// (compressed flag, big-endian length) then the body, across any DATA frame
// boundaries and with any number of messages per frame. Only the prefix is
// read; a body is copied only when the sink asks to capture it (sampling).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace grpcscope {

struct GrpcMessage {
  uint32_t length = 0;        // body bytes (the wire length is length + 5)
  bool compressed = false;    // the prefix's compressed flag
  uint64_t first_ns = 0;      // when the first prefix byte arrived
  uint64_t last_ns = 0;       // when the last byte arrived
  const uint8_t* body = nullptr;  // the whole body when captured, else null
};

class GrpcDeframer {
 public:
  // Sink: bool wantBody(uint32_t length, bool compressed); void onMessage(const GrpcMessage&).
  template <class Sink>
  void feed(const uint8_t* data, size_t len, uint64_t at_ns, Sink& sink);

  // Bytes of a message that has started but not ended (a stream that ends
  // here ended mid-message).
  bool midMessage() const { return header_have_ > 0; }
  uint64_t messages() const { return messages_; }

 private:
  uint8_t header_[5] = {};
  uint8_t header_have_ = 0;   // 0: between messages; 1..5: prefix bytes; 5: in the body
  uint32_t remaining_ = 0;    // body bytes still to come
  GrpcMessage current_;
  bool capturing_ = false;
  std::string body_;
  uint64_t messages_ = 0;
};

template <class Sink>
void GrpcDeframer::feed(const uint8_t* data, size_t len, uint64_t at_ns, Sink& sink) {
  size_t pos = 0;
  while (pos < len) {
    if (header_have_ < 5) {
      if (header_have_ == 0) current_.first_ns = at_ns;
      header_[header_have_++] = data[pos++];
      if (header_have_ < 5) continue;
      current_.compressed = header_[0] & 1;
      current_.length = (uint32_t{header_[1]} << 24) | (uint32_t{header_[2]} << 16) | (uint32_t{header_[3]} << 8) |
                        uint32_t{header_[4]};
      remaining_ = current_.length;
      capturing_ = sink.wantBody(current_.length, current_.compressed);
      body_.clear();
      if (capturing_) body_.reserve(current_.length);
    } else {
      size_t take = std::min<size_t>(remaining_, len - pos);
      if (capturing_) body_.append(reinterpret_cast<const char*>(data + pos), take);
      pos += take;
      remaining_ -= static_cast<uint32_t>(take);
    }
    if (header_have_ == 5 && remaining_ == 0) {
      current_.last_ns = at_ns;
      current_.body = capturing_ ? reinterpret_cast<const uint8_t*>(body_.data()) : nullptr;
      ++messages_;
      header_have_ = 0;
      sink.onMessage(current_);
      if (capturing_) {
        capturing_ = false;
        body_.clear();
        body_.shrink_to_fit();
      }
    }
  }
}

}  // namespace grpcscope
