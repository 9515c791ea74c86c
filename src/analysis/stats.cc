#include "analysis/stats.h"

#include <algorithm>
#include <vector>

namespace grpcscope {
namespace {

template <class T, size_t N>
void addArrays(std::array<T, N>& into, const std::array<T, N>& from) {
  for (size_t i = 0; i < N; ++i) into[i] += from[i];
}

template <class Map>
void addMaps(Map& into, const Map& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

}  // namespace

const char* messageDirName(int dir) { return dir == kRequest ? "request" : "response"; }

void MethodStats::merge(const MethodStats& o) {
  started += o.started;
  finished += o.finished;
  addArrays(by_status, o.by_status);
  for (const auto& [code, h] : o.duration_by_status) {
    duration_by_status.try_emplace(code, HistogramUnit::kSeconds).first->second.merge(h);
  }
  duration.merge(o.duration);
  addArrays(messages, o.messages);
  addArrays(message_bytes, o.message_bytes);
  addArrays(compressed_messages, o.compressed_messages);
  for (int d = 0; d < 2; ++d) {
    message_size[d].merge(o.message_size[d]);
    wire[d].merge(o.wire[d]);
  }
  addArrays(wire_seen, o.wire_seen);
  stalls += o.stalls;
  stall_ns += o.stall_ns;
  upstream_time.merge(o.upstream_time);
  deadline.merge(o.deadline);
  deadline_exceeded_deadline.merge(o.deadline_exceeded_deadline);
  exhausted_request_size.merge(o.exhausted_request_size);
  receive_limit_bytes = std::max(receive_limit_bytes, o.receive_limit_bytes);
}

void HopStats::merge(const HopStats& o) {
  connections_opened += o.connections_opened;
  connections_closed += o.connections_closed;
  addArrays(close_reasons, o.close_reasons);
  connection_lifetime.merge(o.connection_lifetime);
  streams_per_connection.merge(o.streams_per_connection);
  connect_time.merge(o.connect_time);
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  addArrays(data_frames, o.data_frames);
  addArrays(data_bytes, o.data_bytes);
  addArrays(headers_frames, o.headers_frames);
  addArrays(settings_frames, o.settings_frames);
  stalls += o.stalls;
  stall_ns += o.stall_ns;
  connection_stalls += o.connection_stalls;
  addArrays(window_updates, o.window_updates);
  addArrays(window_update_bytes, o.window_update_bytes);
  addArrays(pings, o.pings);
  addArrays(ping_acks, o.ping_acks);
  pings_without_data += o.pings_without_data;
  ping_rtt.merge(o.ping_rtt);
  ping_interval.merge(o.ping_interval);
  for (int d = 0; d < 2; ++d) {
    addArrays(goaway[d], o.goaway[d]);
    addArrays(rst[d], o.rst[d]);
  }
  tls_handshake.merge(o.tls_handshake);
  addMaps(tls_handshakes, o.tls_handshakes);
  tcp_rtt.merge(o.tcp_rtt);
  tcp_retransmits += o.tcp_retransmits;
  tcp_samples += o.tcp_samples;
  tcp_busy_us += o.tcp_busy_us;
  tcp_rwnd_limited_us += o.tcp_rwnd_limited_us;
  tcp_sndbuf_limited_us += o.tcp_sndbuf_limited_us;
  goaway_debug.merge(o.goaway_debug);
  send_active_ns += o.send_active_ns;
  tcp_segs_out += o.tcp_segs_out;
  large_message_rtts_after_idle.merge(o.large_message_rtts_after_idle);
  large_message_rtts_warm.merge(o.large_message_rtts_warm);
  keepalive_pings += o.keepalive_pings;
  bdp_pings += o.bdp_pings;
  pings_after_server_frames += o.pings_after_server_frames;
  keepalive_ping_interval.merge(o.keepalive_ping_interval);
  goaway_notices += o.goaway_notices;
  goaway_two_phase += o.goaway_two_phase;
  goaway_notice_age.merge(o.goaway_notice_age);
  goaway_drain.merge(o.goaway_drain);
  calls_cut_after_notice += o.calls_cut_after_notice;
  stream_limit_busy_ns += o.stream_limit_busy_ns;
  stream_limit_full_ns += o.stream_limit_full_ns;
}

void ClientPings::addGoaway(const Goaway& g) {
  ++too_many_pings;
  if (goaways.size() >= kMaxKept) goaways.erase(goaways.begin());
  goaways.push_back(g);
  last_ns = std::max(last_ns, g.at_ns);
}

void ClientPings::merge(const ClientPings& o) {
  too_many_pings += o.too_many_pings;
  goaways.insert(goaways.end(), o.goaways.begin(), o.goaways.end());
  std::sort(goaways.begin(), goaways.end(), [](const Goaway& a, const Goaway& b) { return a.at_ns < b.at_ns; });
  if (goaways.size() > kMaxKept) goaways.erase(goaways.begin(), goaways.end() - kMaxKept);
  if (o.tolerated_interval_ns && (!tolerated_interval_ns || o.tolerated_interval_ns < tolerated_interval_ns)) {
    tolerated_interval_ns = o.tolerated_interval_ns;
  }
  last_ns = std::max(last_ns, o.last_ns);
}

uint64_t ClientChurn::recent(uint64_t now_second) const {
  uint64_t n = 0;
  for (uint64_t s = now_second >= 9 ? now_second - 9 : 0; s <= now_second; ++s) {
    if (s + per_second.size() > last_second && s <= last_second) n += per_second[s % per_second.size()];
  }
  return n;
}

void ClientChurn::add(uint64_t now_second) {
  if (now_second > last_second) {
    // Clear the seconds that passed without a connection.
    for (uint64_t s = last_second + 1; s <= now_second && s <= last_second + per_second.size(); ++s) {
      per_second[s % per_second.size()] = 0;
    }
    last_second = now_second;
  }
  ++per_second[now_second % per_second.size()];
  ++total;
}

void WorkerStats::merge(const WorkerStats& o) {
  for (int h = 0; h < 2; ++h) hops[h].merge(o.hops[h]);
  for (const auto& [name, m] : o.methods) methods[name].merge(m);
  other_methods.merge(o.other_methods);
  streams_opened += o.streams_opened;
  streams_closed += o.streams_closed;
  calls_started += o.calls_started;
  calls_finished += o.calls_finished;
  addArrays(by_status, o.by_status);
  call_duration.merge(o.call_duration);
  proxy_time.merge(o.proxy_time);
  upstream_time.merge(o.upstream_time);
  response_headers_time.merge(o.response_headers_time);
  message_transfer.merge(o.message_transfer);
  violations.merge(o.violations);
  upstream_failures += o.upstream_failures;
  upstream_failure_causes.merge(o.upstream_failure_causes);
  for (const auto& [ip, c] : o.churn) {
    ClientChurn& into = churn[ip];
    // Workers share the clock (seconds since the process started): add second by second.
    uint64_t last = std::max(into.last_second, c.last_second);
    ClientChurn merged;
    merged.total = into.total + c.total;
    merged.last_second = last;
    for (uint64_t s = last >= 9 ? last - 9 : 0; s <= last; ++s) {
      uint32_t n = 0;
      for (const ClientChurn* x : {static_cast<const ClientChurn*>(&into), &c}) {
        if (s <= x->last_second && s + x->per_second.size() > x->last_second) n += x->per_second[s % 10];
      }
      merged.per_second[s % 10] = n;
    }
    into = merged;
  }
  tap_dropped += o.tap_dropped;
  loop_lag.merge(o.loop_lag);
  for (const auto& [ip, p] : o.pings_by_client) pings_by_client[ip].merge(p);
}

WorkerStats WorkerStats::totalsOnly() const {
  WorkerStats out;
  out.hops = hops;
  out.streams_opened = streams_opened;
  out.streams_closed = streams_closed;
  out.calls_started = calls_started;
  out.calls_finished = calls_finished;
  out.by_status = by_status;
  out.call_duration = call_duration;
  out.proxy_time = proxy_time;
  out.upstream_time = upstream_time;
  out.response_headers_time = response_headers_time;
  out.message_transfer = message_transfer;
  out.violations = violations;
  out.upstream_failures = upstream_failures;
  out.upstream_failure_causes = upstream_failure_causes;
  out.tap_dropped = tap_dropped;
  out.loop_lag = loop_lag;
  return out;
}

void WorkerStats::capMethods(size_t max_methods) {
  if (methods.size() <= max_methods) return;
  std::vector<std::pair<uint64_t, std::string>> order;
  order.reserve(methods.size());
  for (const auto& [name, m] : methods) order.emplace_back(m.started, name);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t i = max_methods; i < order.size(); ++i) {
    auto it = methods.find(order[i].second);
    other_methods.merge(it->second);
    methods.erase(it);
  }
}

}  // namespace grpcscope
