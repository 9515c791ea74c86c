// Loopback TCP helpers for the upstream-failure tests. Network tests only
// ever use 127.0.0.1.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace grpcscope::testsupport {

// A port nothing listens on (bound once to find it, then released).
uint16_t unusedLoopbackPort();

// True when a TCP connect to 127.0.0.1:port is refused (nothing listens).
bool loopbackConnectRefused(uint16_t port);

// A listener on 127.0.0.1:0 that accepts connections and counts them.
//   kCloseAtOnce: closes each accepted connection right away (the upstream
//                 "resets" before speaking HTTP/2).
//   kHoldSilent:  keeps each connection open and never writes a byte (an
//                 upstream that accepts but never answers the HTTP/2 preface).
class LoopbackListener {
 public:
  enum class Mode { kCloseAtOnce, kHoldSilent };

  explicit LoopbackListener(Mode mode);
  ~LoopbackListener();
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_.load(); }

 private:
  void run();

  Mode mode_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::vector<int> held_;
  std::thread thread_;
};

}  // namespace grpcscope::testsupport
