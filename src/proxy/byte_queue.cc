#include "proxy/byte_queue.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace grpcscope {
namespace {

// Blocks kept for reuse per thread; beyond this they go back to the heap so a
// burst does not pin memory forever (16 MiB per worker at most).
constexpr size_t kMaxFreeBlocks = 1024;

struct FreeList {
  std::vector<uint8_t*> blocks;
  ~FreeList() {
    for (uint8_t* b : blocks) delete[] b;
  }
};

thread_local FreeList free_list;

}  // namespace

uint8_t* ByteQueue::takeBlock() {
  if (!free_list.blocks.empty()) {
    uint8_t* b = free_list.blocks.back();
    free_list.blocks.pop_back();
    return b;
  }
  return new uint8_t[kBlockSize];
}

void ByteQueue::giveBlock(uint8_t* block) {
  if (free_list.blocks.size() < kMaxFreeBlocks) {
    free_list.blocks.push_back(block);
  } else {
    delete[] block;
  }
}

ByteQueue::~ByteQueue() {
  for (Block& b : blocks_) giveBlock(b.data);
}

void ByteQueue::append(const uint8_t* data, size_t len) {
  size_ += len;
  while (len > 0) {
    if (blocks_.empty() || blocks_.back().end == kBlockSize) {
      blocks_.push_back(Block{takeBlock(), 0, 0});
    }
    Block& tail = blocks_.back();
    size_t n = std::min(len, kBlockSize - tail.end);
    std::memcpy(tail.data + tail.end, data, n);
    tail.end += n;
    data += n;
    len -= n;
  }
}

size_t ByteQueue::read(uint8_t* out, size_t len) {
  size_t copied = 0;
  while (copied < len && !blocks_.empty()) {
    Block& head = blocks_.front();
    size_t n = std::min(len - copied, head.end - head.begin);
    std::memcpy(out + copied, head.data + head.begin, n);
    copied += n;
    head.begin += n;
    if (head.begin == head.end) {
      giveBlock(head.data);
      blocks_.pop_front();
    }
  }
  size_ -= copied;
  return copied;
}

void ByteQueue::drain(size_t len) {
  len = std::min(len, size_);
  size_ -= len;
  while (len > 0) {
    Block& head = blocks_.front();
    size_t n = std::min(len, head.end - head.begin);
    head.begin += n;
    len -= n;
    if (head.begin == head.end) {
      giveBlock(head.data);
      blocks_.pop_front();
    }
  }
}

size_t ByteQueue::peek(struct iovec* iov, size_t max) const {
  size_t n = 0;
  for (const Block& b : blocks_) {
    if (n == max) break;
    if (b.end == b.begin) continue;
    iov[n].iov_base = b.data + b.begin;
    iov[n].iov_len = b.end - b.begin;
    ++n;
  }
  return n;
}

}  // namespace grpcscope
