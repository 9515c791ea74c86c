// A FIFO of bytes in fixed-size blocks, for the relay's per-stream buffers
// and per-socket output. Blocks come from a per-thread free list, so a steady
// relay does no heap allocation. Appending never moves bytes already queued:
// a write in flight may point into the queue while more is appended.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>

namespace grpcscope {

class ByteQueue {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;

  ByteQueue() = default;
  ~ByteQueue();
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void append(const uint8_t* data, size_t len);
  // Copies up to len bytes out and removes them. Returns the count copied.
  size_t read(uint8_t* out, size_t len);
  // Removes len bytes (at most size()) from the front.
  void drain(size_t len);
  void clear() { drain(size_); }

  // Fills up to max iovecs describing the front of the queue; returns the count.
  size_t peek(struct iovec* iov, size_t max) const;

 private:
  struct Block {
    uint8_t* data;
    size_t begin;
    size_t end;
  };
  static uint8_t* takeBlock();
  static void giveBlock(uint8_t* block);

  std::deque<Block> blocks_;
  size_t size_ = 0;
};

}  // namespace grpcscope
