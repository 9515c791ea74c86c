// A byte pipe under one HTTP/2 session: plain TCP today, TLS (OpenSSL over
// memory BIOs) on top of TCP later, in-memory pairs in unit tests. The H2
// layer queues bytes, asks for one flush per loop callback, and learns about
// input, drain and close through TransportHandler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace grpcscope {

class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // Plaintext bytes from the peer. Valid only during the call.
  virtual void onTransportData(const uint8_t* data, size_t len) = 0;
  // The peer closed its side (EOF) or the connection failed (reset != false).
  virtual void onTransportEnd(bool reset, std::string_view cause) = 0;
  // A write completed; queued output may have room again.
  virtual void onTransportDrained() = 0;
  // The transport released its resources; it may now be deleted.
  virtual void onTransportClosed() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void setHandler(TransportHandler* handler) = 0;

  // Output: queue() copies; flush() starts a write if none is in flight.
  virtual void queue(const uint8_t* data, size_t len) = 0;
  virtual void flush() = 0;
  virtual size_t pendingBytes() const = 0;

  virtual void startReading() = 0;
  virtual void stopReading() = 0;

  // graceful: write what is queued first (bounded by a linger time), then close.
  // Idempotent; onTransportClosed() follows exactly once.
  virtual void close(bool graceful) = 0;
  virtual bool closing() const = 0;

  virtual const std::string& peerAddress() const = 0;
  virtual const std::string& localAddress() const = 0;
  virtual uint64_t bytesIn() const = 0;
  virtual uint64_t bytesOut() const = 0;
  // Bytes given to queue() so far, and how many of them a completed write
  // handed to the kernel: tells when one frame left (PING RTT is timed from
  // there, not from when it was queued behind other output).
  virtual uint64_t bytesQueued() const { return 0; }
  virtual uint64_t bytesWritten() const { return 0; }
  // The socket descriptor, or -1 (for TCP_INFO sampling).
  virtual int fd() const { return -1; }
};

}  // namespace grpcscope
