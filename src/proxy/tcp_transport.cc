#include "proxy/tcp_transport.h"

#include <memory>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>

namespace grpcscope {
namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr size_t kMaxIov = 64;
// A graceful close waits this long for queued output to leave before aborting.
constexpr uint64_t kLingerMs = 5000;
// After its FIN, a graceful close reads (and drops) what the peer still sends
// until the peer's own FIN, at most this long. Closing a socket with unread
// input makes the kernel send a TCP reset instead (RFC 9293 section 3.6.1's
// "abort"), which the peer sees as a failure, and which can destroy the
// GOAWAY it has not read yet (RFC 9113 section 6.8 asks senders of GOAWAY to
// close the connection only after it was received).
constexpr uint64_t kReadAfterFinMs = 1000;

// Allocated per loop thread on first use, not as a thread_local array: static
// TLS is reserved in every thread's stack, and threads with small stacks (the
// admin server's) would fail to start.
char* readBuffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[kReadBufferSize]);
  return buffer.get();
}

}  // namespace

std::string formatSockaddr(const struct sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    uv_ip4_name(in, host, sizeof(host));
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    uv_ip6_name(in6, host, sizeof(host));
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "unknown";
}

TcpTransport::TcpTransport(uv_loop_t* loop) {
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
  write_req_.data = this;
  connect_req_.data = this;
  linger_.data = this;
}

TcpTransport::~TcpTransport() = default;

int TcpTransport::fd() const {
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return -1;
  return fd;
}

void TcpTransport::onConnected() {
  uv_tcp_nodelay(&tcp_, 1);
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    peer_ = formatSockaddr(reinterpret_cast<sockaddr*>(&ss));
  }
  len = sizeof(ss);
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    local_ = formatSockaddr(reinterpret_cast<sockaddr*>(&ss));
  }
}

int TcpTransport::connect(const struct sockaddr* addr, std::function<void(int)> done) {
  connect_done_ = std::move(done);
  return uv_tcp_connect(&connect_req_, &tcp_, addr, &TcpTransport::onConnect);
}

void TcpTransport::onConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpTransport*>(req->data);
  if (status == 0) self->onConnected();
  auto done = std::move(self->connect_done_);
  // Lifetime edge: done() may close (but never delete) this transport.
  if (done) done(status);
}

void TcpTransport::queue(const uint8_t* data, size_t len) {
  if (closing_ && !close_when_drained_) return;
  out_.append(data, len);
}

void TcpTransport::flush() {
  if (in_flight_ > 0 || out_.empty() || handle_closed_) return;
  if (closing_ && !close_when_drained_) return;
  struct iovec iov[kMaxIov];
  size_t n = out_.peek(iov, kMaxIov);
  uv_buf_t bufs[kMaxIov];
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    bufs[i] = uv_buf_init(static_cast<char*>(iov[i].iov_base), static_cast<unsigned>(iov[i].iov_len));
    total += iov[i].iov_len;
  }
  // uv_write tries the write at once and queues only what the kernel refused.
  int rc = uv_write(&write_req_, stream(), bufs, static_cast<unsigned>(n), &TcpTransport::onWrite);
  if (rc != 0) {
    out_.clear();
    if (!ended_ && handler_) {
      ended_ = true;
      handler_->onTransportEnd(true, uv_strerror(rc));
    }
    return;
  }
  in_flight_ = total;
}

void TcpTransport::onWrite(uv_write_t* req, int status) {
  auto* self = static_cast<TcpTransport*>(req->data);
  size_t written = self->in_flight_;
  self->in_flight_ = 0;
  if (status < 0) {
    self->out_.clear();
    if (status != UV_ECANCELED && !self->ended_ && self->handler_) {
      self->ended_ = true;
      self->handler_->onTransportEnd(true, uv_strerror(status));
    }
    if (self->close_when_drained_) self->closeNow();
    return;
  }
  self->bytes_out_ += written;
  self->out_.drain(written);
  if (self->close_when_drained_) {
    if (self->out_.empty()) {
      self->finishGracefully();
    } else {
      self->flush();
    }
    return;
  }
  if (self->handler_) self->handler_->onTransportDrained();
}

void TcpTransport::startReading() {
  want_reading_ = true;
  if (reading_ || closing_) return;
  if (uv_read_start(stream(), &TcpTransport::onAlloc, &TcpTransport::onRead) == 0) reading_ = true;
}

void TcpTransport::stopReading() {
  want_reading_ = false;
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void TcpTransport::onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(readBuffer(), kReadBufferSize);
}

void TcpTransport::onRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<TcpTransport*>(s->data);
  if (n > 0) {
    self->bytes_in_ += static_cast<uint64_t>(n);
    if (self->handler_ && !self->closing_) {
      self->handler_->onTransportData(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n));
    }
    return;
  }
  if (n == 0) return;  // EAGAIN
  if (self->lingering_) {
    self->closeNow();  // the peer's FIN (or an error): nothing left to wait for
    return;
  }
  self->stopReading();
  if (self->ended_ || !self->handler_) return;
  self->ended_ = true;
  if (n == UV_EOF) {
    self->handler_->onTransportEnd(false, "closed by peer");
  } else {
    self->handler_->onTransportEnd(true, uv_strerror(static_cast<int>(n)));
  }
}

void TcpTransport::close(bool graceful) {
  if (closing_) {
    if (!graceful && (close_when_drained_ || lingering_)) closeNow();
    return;
  }
  closing_ = true;
  stopReading();
  if (!graceful) {
    closeNow();
    return;
  }
  uv_timer_init(tcp_.loop, &linger_);
  linger_.data = this;
  linger_started_ = true;
  if (!out_.empty() || in_flight_ > 0) {
    close_when_drained_ = true;
    flush();
    uv_timer_start(&linger_, &TcpTransport::onLingerTimeout, kLingerMs, 0);
    return;
  }
  finishGracefully();
}

// Everything queued has left: FIN, then read until the peer's FIN.
void TcpTransport::finishGracefully() {
  close_when_drained_ = false;
  if (handle_closed_) return;
  if (ended_ || uv_shutdown(&shutdown_req_, stream(), &TcpTransport::onShutdown) != 0) {
    closeNow();  // the peer is gone already, or the socket is
    return;
  }
  shutdown_req_.data = this;
}

void TcpTransport::onShutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<TcpTransport*>(req->data);
  if (status < 0 || self->handle_closed_) {
    if (status != UV_ECANCELED) self->closeNow();
    return;
  }
  self->lingering_ = true;
  if (uv_read_start(self->stream(), &TcpTransport::onAlloc, &TcpTransport::onRead) != 0) {
    self->closeNow();
    return;
  }
  self->reading_ = true;
  uv_timer_start(&self->linger_, &TcpTransport::onLingerTimeout, kReadAfterFinMs, 0);
}

void TcpTransport::onLingerTimeout(uv_timer_t* t) {
  static_cast<TcpTransport*>(t->data)->closeNow();
}

void TcpTransport::closeNow() {
  close_when_drained_ = false;
  if (handle_closed_) return;
  handle_closed_ = true;
  if (linger_started_) uv_timer_stop(&linger_);
  // Cancels a write in flight (its callback runs with UV_ECANCELED first).
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &TcpTransport::onClose);
}

void TcpTransport::closeAndDelete(std::unique_ptr<TcpTransport> transport) {
  TcpTransport* self = transport.release();
  self->handler_ = nullptr;
  self->delete_on_close_ = true;
  self->close(false);
}

void TcpTransport::onClose(uv_handle_t* h) {
  auto* self = static_cast<TcpTransport*>(h->data);
  if (self->delete_on_close_) {
    delete self;
    return;
  }
  if (self->linger_started_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&self->linger_), &TcpTransport::onLingerClosed);
    return;
  }
  if (self->handler_) self->handler_->onTransportClosed();
}

void TcpTransport::onLingerClosed(uv_handle_t* h) {
  auto* self = static_cast<TcpTransport*>(h->data);
  if (self->handler_) self->handler_->onTransportClosed();
}

}  // namespace grpcscope
