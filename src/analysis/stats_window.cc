// Windowed statistics as differences of cumulative copies: the copy taken
// now minus the one taken 10 s (or 60 s) ago is what happened in between.
// Counters only grow, so the difference is exact; histograms subtract bucket
// by bucket (histogram.h).
#include <algorithm>

#include "analysis/stats.h"

namespace grpcscope {
namespace {

template <class T, size_t N>
void subtractArrays(std::array<T, N>& from, const std::array<T, N>& earlier) {
  for (size_t i = 0; i < N; ++i) from[i] -= std::min(from[i], earlier[i]);
}

void subtractCount(uint64_t& from, uint64_t earlier) { from -= std::min(from, earlier); }

}  // namespace

void MethodStats::subtract(const MethodStats& e) {
  subtractCount(started, e.started);
  subtractCount(finished, e.finished);
  subtractArrays(by_status, e.by_status);
  for (const auto& [code, h] : e.duration_by_status) {
    auto it = duration_by_status.find(code);
    if (it == duration_by_status.end()) continue;
    it->second.subtract(h);
    if (it->second.count() == 0) duration_by_status.erase(it);
  }
  duration.subtract(e.duration);
  subtractArrays(messages, e.messages);
  subtractArrays(message_bytes, e.message_bytes);
  subtractArrays(compressed_messages, e.compressed_messages);
  for (int d = 0; d < 2; ++d) message_size[d].subtract(e.message_size[d]);
  subtractCount(stalls, e.stalls);
  subtractCount(stall_ns, e.stall_ns);
  upstream_time.subtract(e.upstream_time);
  deadline.subtract(e.deadline);
  deadline_exceeded_deadline.subtract(e.deadline_exceeded_deadline);
  exhausted_request_size.subtract(e.exhausted_request_size);
  // receive_limit_bytes stays: a limit seen once is still the limit.
}

void HopStats::subtract(const HopStats& e) {
  subtractCount(connections_opened, e.connections_opened);
  subtractCount(connections_closed, e.connections_closed);
  subtractArrays(close_reasons, e.close_reasons);
  connection_lifetime.subtract(e.connection_lifetime);
  streams_per_connection.subtract(e.streams_per_connection);
  connect_time.subtract(e.connect_time);
  subtractCount(bytes_in, e.bytes_in);
  subtractCount(bytes_out, e.bytes_out);
  subtractArrays(data_frames, e.data_frames);
  subtractArrays(data_bytes, e.data_bytes);
  subtractArrays(headers_frames, e.headers_frames);
  subtractArrays(settings_frames, e.settings_frames);
  subtractCount(stalls, e.stalls);
  subtractCount(stall_ns, e.stall_ns);
  subtractCount(connection_stalls, e.connection_stalls);
  subtractArrays(window_updates, e.window_updates);
  subtractArrays(window_update_bytes, e.window_update_bytes);
  subtractArrays(pings, e.pings);
  subtractArrays(ping_acks, e.ping_acks);
  subtractCount(pings_without_data, e.pings_without_data);
  ping_rtt.subtract(e.ping_rtt);
  ping_interval.subtract(e.ping_interval);
  for (int d = 0; d < 2; ++d) {
    subtractArrays(goaway[d], e.goaway[d]);
    subtractArrays(rst[d], e.rst[d]);
  }
  goaway_debug.subtract(e.goaway_debug);
  tls_handshake.subtract(e.tls_handshake);
  for (const auto& [key, n] : e.tls_handshakes) {
    auto it = tls_handshakes.find(key);
    if (it == tls_handshakes.end()) continue;
    subtractCount(it->second, n);
    if (it->second == 0) tls_handshakes.erase(it);
  }
  tcp_rtt.subtract(e.tcp_rtt);
  subtractCount(tcp_retransmits, e.tcp_retransmits);
  subtractCount(tcp_samples, e.tcp_samples);
  subtractCount(tcp_busy_us, e.tcp_busy_us);
  subtractCount(tcp_rwnd_limited_us, e.tcp_rwnd_limited_us);
  subtractCount(tcp_sndbuf_limited_us, e.tcp_sndbuf_limited_us);
  subtractCount(send_active_ns, e.send_active_ns);
  subtractCount(tcp_segs_out, e.tcp_segs_out);
  large_message_rtts_after_idle.subtract(e.large_message_rtts_after_idle);
  large_message_rtts_warm.subtract(e.large_message_rtts_warm);
  subtractCount(keepalive_pings, e.keepalive_pings);
  subtractCount(bdp_pings, e.bdp_pings);
  subtractCount(pings_after_server_frames, e.pings_after_server_frames);
  keepalive_ping_interval.subtract(e.keepalive_ping_interval);
  subtractCount(goaway_notices, e.goaway_notices);
  subtractCount(goaway_two_phase, e.goaway_two_phase);
  goaway_notice_age.subtract(e.goaway_notice_age);
  goaway_drain.subtract(e.goaway_drain);
  subtractCount(calls_cut_after_notice, e.calls_cut_after_notice);
  subtractCount(stream_limit_busy_ns, e.stream_limit_busy_ns);
  subtractCount(stream_limit_full_ns, e.stream_limit_full_ns);
}

void WorkerStats::subtract(const WorkerStats& e) {
  for (int h = 0; h < 2; ++h) hops[h].subtract(e.hops[h]);
  for (const auto& [name, m] : e.methods) {
    auto it = methods.find(name);
    if (it != methods.end()) it->second.subtract(m);
  }
  other_methods.subtract(e.other_methods);
  subtractCount(streams_opened, e.streams_opened);
  subtractCount(streams_closed, e.streams_closed);
  subtractCount(calls_started, e.calls_started);
  subtractCount(calls_finished, e.calls_finished);
  subtractArrays(by_status, e.by_status);
  call_duration.subtract(e.call_duration);
  proxy_time.subtract(e.proxy_time);
  upstream_time.subtract(e.upstream_time);
  response_headers_time.subtract(e.response_headers_time);
  message_transfer.subtract(e.message_transfer);
  violations.subtract(e.violations);
  subtractCount(upstream_failures, e.upstream_failures);
  upstream_failure_causes.subtract(e.upstream_failure_causes);
  subtractCount(tap_dropped, e.tap_dropped);
  loop_lag.subtract(e.loop_lag);
}

}  // namespace grpcscope
