// The kernel's struct (linux/tcp.h) rather than glibc's netinet/tcp.h, which
// stops before the busy/rwnd/sndbuf-limited times.
#include "analysis/tcp_info.h"

#include <linux/tcp.h>
#include <cstddef>
#include <netinet/in.h>
#include <sys/socket.h>

namespace grpcscope {

TcpInfoSample readTcpInfo(int fd, uint64_t now_ns) {
  TcpInfoSample s;
  if (fd < 0) return s;
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return s;
  s.valid = true;
  s.at_ns = now_ns;
  s.rtt_us = info.tcpi_rtt;
  s.rttvar_us = info.tcpi_rttvar;
  s.snd_cwnd = info.tcpi_snd_cwnd;
  s.snd_mss = info.tcpi_snd_mss;
  s.unacked = info.tcpi_unacked;
  s.lost = info.tcpi_lost;
  s.total_retrans = info.tcpi_total_retrans;
  // Fields a kernel older than the header may not fill: len says how much it wrote.
  auto has = [len](size_t end) { return static_cast<size_t>(len) >= end; };
  if (has(offsetof(tcp_info, tcpi_min_rtt) + sizeof info.tcpi_min_rtt)) s.min_rtt_us = info.tcpi_min_rtt;
  if (has(offsetof(tcp_info, tcpi_delivery_rate) + sizeof info.tcpi_delivery_rate)) {
    s.delivery_rate = info.tcpi_delivery_rate;
  }
  if (has(offsetof(tcp_info, tcpi_segs_out) + sizeof info.tcpi_segs_out)) s.segs_out = info.tcpi_segs_out;
  if (has(offsetof(tcp_info, tcpi_sndbuf_limited) + sizeof info.tcpi_sndbuf_limited)) {
    s.busy_us = info.tcpi_busy_time;
    s.rwnd_limited_us = info.tcpi_rwnd_limited;
    s.sndbuf_limited_us = info.tcpi_sndbuf_limited;
  }
  return s;
}

}  // namespace grpcscope
