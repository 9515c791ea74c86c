// Transport over a libuv TCP handle. One uv_write in flight at a time,
// carrying every queued buffer (one syscall per flush); reads land in a
// per-thread 64 KiB buffer and are handed up synchronously.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "proxy/byte_queue.h"
#include "proxy/transport.h"

namespace grpcscope {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(uv_loop_t* loop);
  ~TcpTransport() override;

  uv_tcp_t* handle() { return &tcp_; }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }

  // After uv_accept or a completed connect: read addresses, set TCP_NODELAY.
  void onConnected();

  // For a transport nobody will own (a failed accept): close it and free it
  // in its close callback.
  static void closeAndDelete(std::unique_ptr<TcpTransport> transport);

  // Connect to addr. done(status) runs once: 0 on success, a libuv error otherwise.
  int connect(const struct sockaddr* addr, std::function<void(int)> done);

  void setHandler(TransportHandler* handler) override { handler_ = handler; }
  void queue(const uint8_t* data, size_t len) override;
  void flush() override;
  size_t pendingBytes() const override { return out_.size(); }
  void startReading() override;
  void stopReading() override;
  void close(bool graceful) override;
  bool closing() const override { return closing_; }
  const std::string& peerAddress() const override { return peer_; }
  const std::string& localAddress() const override { return local_; }
  uint64_t bytesIn() const override { return bytes_in_; }
  uint64_t bytesOut() const override { return bytes_out_; }
  uint64_t bytesQueued() const override { return bytes_out_ + out_.size(); }
  uint64_t bytesWritten() const override { return bytes_out_; }
  int fd() const override;

 private:
  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onConnect(uv_connect_t* req, int status);
  static void onClose(uv_handle_t* h);
  static void onLingerTimeout(uv_timer_t* t);
  static void onShutdown(uv_shutdown_t* req, int status);
  void finishGracefully();
  static void onLingerClosed(uv_handle_t* h);
  void closeNow();

  uv_tcp_t tcp_;
  uv_write_t write_req_;
  uv_connect_t connect_req_;
  uv_shutdown_t shutdown_req_;
  uv_timer_t linger_;
  bool linger_started_ = false;
  std::function<void(int)> connect_done_;
  TransportHandler* handler_ = nullptr;
  ByteQueue out_;
  size_t in_flight_ = 0;  // bytes of out_ the current uv_write covers
  bool reading_ = false;
  bool want_reading_ = false;
  bool closing_ = false;
  bool close_when_drained_ = false;
  bool lingering_ = false;  // FIN sent; reading (and dropping) until the peer's FIN
  bool handle_closed_ = false;
  bool ended_ = false;
  bool delete_on_close_ = false;
  std::string peer_;
  std::string local_;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
};

std::string formatSockaddr(const struct sockaddr* sa);

}  // namespace grpcscope
