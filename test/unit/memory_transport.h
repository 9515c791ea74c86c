// An in-memory Transport pair for unit tests: bytes queued on one end reach
// the other end's handler on a later loop iteration (never synchronously, as
// with a real socket, so nghttp2 is never re-entered), and only while that
// end is reading, so backpressure behaves as it would over TCP.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <utility>

#include "proxy/transport.h"

namespace grpcscope::testing {

class MemoryTransport final : public Transport {
 public:
  static std::pair<std::unique_ptr<MemoryTransport>, std::unique_ptr<MemoryTransport>> makePair(uv_loop_t* loop) {
    auto a = std::unique_ptr<MemoryTransport>(new MemoryTransport(loop, "10.0.0.1:1000", "10.0.0.2:2000"));
    auto b = std::unique_ptr<MemoryTransport>(new MemoryTransport(loop, "10.0.0.2:2000", "10.0.0.1:1000"));
    a->peer_ = b.get();
    b->peer_ = a.get();
    return {std::move(a), std::move(b)};
  }

  ~MemoryTransport() override {
    if (peer_) peer_->peer_ = nullptr;
  }

  void setHandler(TransportHandler* handler) override { handler_ = handler; }
  void queue(const uint8_t* data, size_t len) override {
    if (!closing_) out_.append(reinterpret_cast<const char*>(data), len);
  }
  void flush() override { schedule(); }
  size_t pendingBytes() const override { return out_.size(); }
  void startReading() override {
    reading_ = true;
    if (peer_) peer_->schedule();
  }
  void stopReading() override { reading_ = false; }
  void close(bool graceful) override {
    if (closing_) return;
    closing_ = true;
    reading_ = false;
    if (!graceful) out_.clear();
    close_after_flush_ = true;
    schedule();
  }
  bool closing() const override { return closing_; }
  const std::string& peerAddress() const override { return peer_address_; }
  const std::string& localAddress() const override { return local_address_; }
  uint64_t bytesIn() const override { return bytes_in_; }
  uint64_t bytesOut() const override { return bytes_out_; }
  uint64_t bytesQueued() const override { return bytes_out_ + out_.size(); }
  uint64_t bytesWritten() const override { return bytes_out_; }

  bool closed() const { return closed_; }
  // Bytes this end has queued but the peer has not taken yet.
  size_t undelivered() const { return out_.size(); }

 private:
  MemoryTransport(uv_loop_t* loop, std::string local, std::string peer)
      : local_address_(std::move(local)), peer_address_(std::move(peer)) {
    uv_idle_init(loop, &idle_);
    idle_.data = this;
  }

  void schedule() {
    if (!idle_closed_) uv_idle_start(&idle_, &MemoryTransport::onIdle);
  }

  static void onIdle(uv_idle_t* idle) {
    auto* self = static_cast<MemoryTransport*>(idle->data);
    uv_idle_stop(idle);
    self->deliver();
  }

  void deliver() {
    if (!out_.empty() && peer_ && peer_->reading_ && peer_->handler_) {
      std::string chunk;
      chunk.swap(out_);
      bytes_out_ += chunk.size();
      peer_->bytes_in_ += chunk.size();
      peer_->handler_->onTransportData(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
      if (handler_ && !closing_) handler_->onTransportDrained();
    } else if (!out_.empty() && (!peer_ || peer_->closing_)) {
      out_.clear();  // nobody will read it, as with a socket whose peer is gone
    }
    if (close_after_flush_ && (out_.empty() || !peer_)) {
      close_after_flush_ = false;
      if (peer_ && peer_->handler_ && !peer_->closing_) {
        MemoryTransport* p = peer_;
        p->handler_->onTransportEnd(false, "closed by peer");
      }
      idle_closed_ = true;
      uv_close(reinterpret_cast<uv_handle_t*>(&idle_), &MemoryTransport::onClosed);
    }
  }

  static void onClosed(uv_handle_t* h) {
    auto* self = static_cast<MemoryTransport*>(h->data);
    self->closed_ = true;
    if (self->peer_) {
      MemoryTransport* peer = self->peer_;
      peer->peer_ = nullptr;
      self->peer_ = nullptr;
      peer->schedule();  // let a graceful close on the other end finish
    }
    if (self->handler_) self->handler_->onTransportClosed();
  }

  uv_idle_t idle_;
  TransportHandler* handler_ = nullptr;
  MemoryTransport* peer_ = nullptr;
  std::string out_;
  bool reading_ = false;
  bool closing_ = false;
  bool close_after_flush_ = false;
  bool idle_closed_ = false;
  bool closed_ = false;
  std::string local_address_;
  std::string peer_address_;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace grpcscope::testing
