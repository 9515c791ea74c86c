// One TCP_INFO reading of a socket (Linux), in the units the kernel gives.
#pragma once

#include <cstdint>

namespace grpcscope {

struct TcpInfoSample {
  bool valid = false;
  uint64_t at_ns = 0;
  uint32_t rtt_us = 0;            // smoothed RTT
  uint32_t rttvar_us = 0;
  uint32_t min_rtt_us = 0;
  uint32_t snd_cwnd = 0;          // segments
  uint32_t snd_mss = 0;
  uint32_t unacked = 0;           // segments in flight
  uint32_t lost = 0;
  uint32_t total_retrans = 0;     // segments retransmitted over the connection's life
  uint64_t delivery_rate = 0;     // bytes per second
  uint64_t busy_us = 0;           // time with data in flight
  uint64_t rwnd_limited_us = 0;   // ... of which limited by the peer's receive window
  uint64_t sndbuf_limited_us = 0; // ... of which limited by our send buffer
  uint32_t segs_out = 0;          // segments sent over the connection's life (0: kernel too old)
};

// Reads TCP_INFO of `fd`; valid == false when the socket is not TCP or gone.
TcpInfoSample readTcpInfo(int fd, uint64_t now_ns);

}  // namespace grpcscope
