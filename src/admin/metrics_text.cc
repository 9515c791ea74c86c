#include "admin/metrics_text.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <deque>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "analysis/findings/rules.h"
#include "analysis/grpc_codes.h"

namespace grpcscope {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

const char* kHops[2] = {"downstream", "upstream"};
const char* kDirections[2] = {"received", "sent"};

class Families {
 public:
  MetricFamily& family(const std::string& name, const std::string& help, MetricType type) {
    families_.push_back(MetricFamily{name, help, type, {}});
    return families_.back();
  }

  static void counter(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }
  static void gauge(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  }
  static void histogram(MetricFamily& f, Labels labels, const Histogram& h) {
    ClientMetric m;
    m.label = std::move(labels);
    m.histogram.sample_count = h.count();
    m.histogram.sample_sum = h.sum();
    uint64_t cumulative = 0;
    auto bounds = h.bounds();
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += h.bucket(i);
      m.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    m.histogram.bucket.push_back({h.count(), std::numeric_limits<double>::infinity()});
    f.metric.push_back(std::move(m));
  }

  std::string text() const {
    return prometheus::TextSerializer().Serialize(std::vector<MetricFamily>(families_.begin(), families_.end()));
  }

 private:
  std::deque<MetricFamily> families_;  // family() hands out references: they must stay valid
};

// Every method's stats, the capped rest as "other".
template <class Fn>
void forEachMethod(const WorkerStats& s, Fn&& fn) {
  for (const auto& [name, m] : s.methods) fn(name, m);
  if (s.other_methods.started > 0 || s.other_methods.messages[0] > 0 || s.other_methods.messages[1] > 0) {
    fn(std::string("other"), s.other_methods);
  }
}

}  // namespace

std::string renderMetrics(const CollectedStats& c, const ProcessFacts& process, const FindingMetrics* findings) {
  const WorkerStats& s = c.stats;
  Families out;
  using T = MetricType;

  Families::gauge(out.family("grpcscope_build_info", "grpcscope version (value 1).", T::Gauge),
                  {{"version", process.version}, {"measurement", process.measuring ? "on" : "off"}}, 1);
  Families::gauge(out.family("grpcscope_uptime_seconds", "Seconds since grpcscope started.", T::Gauge), {},
                  process.uptime_s);
  Families::gauge(out.family("grpcscope_workers_answered", "Workers whose statistics this scrape includes.", T::Gauge),
                  {{"workers", std::to_string(c.workers)}}, c.workers_answered);

  // Calls and messages per method.
  auto& started = out.family("grpcscope_calls_started_total", "Calls whose request headers arrived, per method.",
                             T::Counter);
  auto& finished = out.family("grpcscope_calls_finished_total", "Calls that ended, per method and grpc-status.",
                              T::Counter);
  auto& duration = out.family("grpcscope_call_duration_seconds",
                              "Call duration as the proxy saw it: request headers in to stream closed toward the client.",
                              T::Histogram);
  auto& messages = out.family("grpcscope_messages_total", "gRPC messages, per method and direction.", T::Counter);
  auto& message_bytes = out.family("grpcscope_message_bytes_total",
                                   "gRPC message bodies in bytes (as on the wire, without the 5-byte prefix).",
                                   T::Counter);
  auto& compressed = out.family("grpcscope_compressed_messages_total",
                                "gRPC messages with the compressed flag set.", T::Counter);
  auto& sizes = out.family("grpcscope_message_size_bytes",
                           "gRPC message body size (as on the wire, without the 5-byte prefix).", T::Histogram);
  auto& m_stalls = out.family("grpcscope_method_flow_control_stalls_total",
                              "Times a stream of this method waited on a peer's flow-control window.", T::Counter);
  auto& m_stall_s = out.family("grpcscope_method_flow_control_stall_seconds_total",
                               "Time streams of this method waited on a peer's flow-control window.", T::Counter);
  forEachMethod(s, [&](const std::string& name, const MethodStats& m) {
    Families::counter(started, {{"grpc_method", name}}, static_cast<double>(m.started));
    for (int code = 0; code < kGrpcStatusCount; ++code) {
      if (m.by_status[code] == 0) continue;
      Families::counter(finished, {{"grpc_method", name}, {"grpc_status", grpcStatusName(code)}},
                        static_cast<double>(m.by_status[code]));
    }
    for (const auto& [code, h] : m.duration_by_status) {
      Families::histogram(duration, {{"grpc_method", name}, {"grpc_status", grpcStatusName(code)}}, h);
    }
    for (int d = 0; d < 2; ++d) {
      Labels l{{"direction", messageDirName(d)}, {"grpc_method", name}};
      Families::counter(messages, l, static_cast<double>(m.messages[d]));
      Families::counter(message_bytes, l, static_cast<double>(m.message_bytes[d]));
      Families::counter(compressed, l, static_cast<double>(m.compressed_messages[d]));
      Families::histogram(sizes, l, m.message_size[d]);
    }
    Families::counter(m_stalls, {{"grpc_method", name}}, static_cast<double>(m.stalls));
    Families::counter(m_stall_s, {{"grpc_method", name}}, static_cast<double>(m.stall_ns) / 1e9);
  });

  Families::gauge(out.family("grpcscope_calls_active", "Calls in progress.", T::Gauge), {},
                  static_cast<double>(c.active_calls));
  Families::histogram(out.family("grpcscope_proxy_time_seconds",
                                 "Per call, time spent inside grpcscope (forwarding headers, end of request, trailers).",
                                 T::Histogram),
                      {}, s.proxy_time);
  Families::histogram(out.family("grpcscope_upstream_time_seconds",
                                 "Per call, request headers sent upstream to trailers received: server plus network.",
                                 T::Histogram),
                      {}, s.upstream_time);
  Families::histogram(out.family("grpcscope_response_headers_seconds",
                                 "Per call, call start to response headers sent to the client.", T::Histogram),
                      {}, s.response_headers_time);
  Families::histogram(out.family("grpcscope_message_transfer_seconds",
                                 "Per message, first to last byte received (long: flow control or network).",
                                 T::Histogram),
                      {}, s.message_transfer);

  // Per hop.
  auto& conn_active = out.family("grpcscope_connections_active", "Open connections per hop.", T::Gauge);
  auto& conn_total = out.family("grpcscope_connections_total", "Connections opened per hop.", T::Counter);
  auto& conn_closed = out.family("grpcscope_connections_closed_total", "Connections closed, per hop and reason.",
                                 T::Counter);
  auto& lifetime = out.family("grpcscope_connection_lifetime_seconds", "Lifetime of closed connections.",
                              T::Histogram);
  auto& reuse = out.family("grpcscope_connection_streams", "Streams carried by each closed connection (reuse).",
                           T::Histogram);
  auto& bytes = out.family("grpcscope_data_bytes_total", "HTTP/2 DATA payload bytes per hop and direction.",
                           T::Counter);
  auto& stall_s = out.family("grpcscope_flow_control_stall_seconds_total",
                             "Time relayed bytes waited because the hop's peer's window was closed.", T::Counter);
  auto& stalls = out.family("grpcscope_flow_control_stalls_total",
                            "Times relayed bytes waited because the hop's peer's window was closed.", T::Counter);
  auto& conn_stalls = out.family("grpcscope_flow_control_connection_stalls_total",
                                 "Of those stalls, the ones where the connection window (not only the stream's) was closed.",
                                 T::Counter);
  auto& wu = out.family("grpcscope_window_updates_total", "WINDOW_UPDATE frames per hop and direction.", T::Counter);
  auto& wu_bytes = out.family("grpcscope_window_update_bytes_total",
                              "Window increments (bytes) per hop and direction.", T::Counter);
  auto& rtt = out.family("grpcscope_ping_rtt_seconds", "PING round-trip time per hop (relayed PINGs' ACKs).",
                         T::Histogram);
  auto& pings = out.family("grpcscope_pings_total", "PING frames (not ACKs) per hop and direction.", T::Counter);
  auto& acks = out.family("grpcscope_ping_acks_total", "PING ACK frames per hop and direction.", T::Counter);
  auto& idle_pings = out.family("grpcscope_pings_without_data_total",
                                "PINGs received with no HEADERS or DATA on the connection since the previous PING.",
                                T::Counter);
  auto& ping_gap = out.family("grpcscope_ping_interval_seconds", "Time between PINGs received on one connection.",
                              T::Histogram);
  auto& goaway = out.family("grpcscope_goaway_total", "GOAWAY frames received from the hop's peer, per error code.",
                            T::Counter);
  auto& goaway_sent = out.family("grpcscope_goaway_sent_total", "GOAWAY frames sent to the hop's peer.", T::Counter);
  auto& rst = out.family("grpcscope_rst_stream_total", "RST_STREAM frames received from the hop's peer.", T::Counter);
  auto& rst_sent = out.family("grpcscope_rst_stream_sent_total", "RST_STREAM frames sent to the hop's peer.",
                              T::Counter);
  auto& tls_s = out.family("grpcscope_tls_handshake_seconds", "TLS handshake time per hop.", T::Histogram);
  auto& tls_n = out.family("grpcscope_tls_handshakes_total",
                           "Finished TLS handshakes per hop, version, ALPN and resumption.", T::Counter);
  auto& tcp_rtt = out.family("grpcscope_tcp_rtt_seconds", "Kernel-smoothed TCP RTT (TCP_INFO samples).",
                             T::Histogram);
  auto& retrans = out.family("grpcscope_tcp_retransmits_total", "TCP segments retransmitted (TCP_INFO).",
                             T::Counter);
  auto& busy = out.family("grpcscope_tcp_busy_seconds_total",
                          "Time the kernel had data in flight (TCP_INFO busy time, summed over samples).", T::Counter);
  auto& rwnd = out.family("grpcscope_tcp_rwnd_limited_seconds_total",
                          "Of the busy time, limited by the peer's receive window (TCP_INFO).", T::Counter);
  auto& sndbuf = out.family("grpcscope_tcp_sndbuf_limited_seconds_total",
                            "Of the busy time, limited by our send buffer (TCP_INFO).", T::Counter);
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = s.hops[h];
    Labels hop{{"hop", kHops[h]}};
    Families::counter(busy, hop, static_cast<double>(hs.tcp_busy_us) / 1e6);
    Families::counter(rwnd, hop, static_cast<double>(hs.tcp_rwnd_limited_us) / 1e6);
    Families::counter(sndbuf, hop, static_cast<double>(hs.tcp_sndbuf_limited_us) / 1e6);
    Families::gauge(conn_active, hop, static_cast<double>(hs.connections_opened - hs.connections_closed));
    Families::counter(conn_total, hop, static_cast<double>(hs.connections_opened));
    for (int r = 0; r < kCloseReasonCount; ++r) {
      if (hs.close_reasons[r] == 0) continue;
      Families::counter(conn_closed, {{"hop", kHops[h]}, {"reason", closeReasonName(static_cast<CloseReason>(r))}},
                        static_cast<double>(hs.close_reasons[r]));
    }
    Families::histogram(lifetime, hop, hs.connection_lifetime);
    Families::histogram(reuse, hop, hs.streams_per_connection);
    Families::counter(stall_s, hop, static_cast<double>(hs.stall_ns) / 1e9);
    Families::counter(stalls, hop, static_cast<double>(hs.stalls));
    Families::counter(conn_stalls, hop, static_cast<double>(hs.connection_stalls));
    Families::counter(idle_pings, hop, static_cast<double>(hs.pings_without_data));
    Families::histogram(rtt, hop, hs.ping_rtt);
    Families::histogram(ping_gap, hop, hs.ping_interval);
    Families::histogram(tls_s, hop, hs.tls_handshake);
    Families::histogram(tcp_rtt, hop, hs.tcp_rtt);
    Families::counter(retrans, hop, static_cast<double>(hs.tcp_retransmits));
    for (int d = 0; d < 2; ++d) {
      Labels hd{{"direction", kDirections[d]}, {"hop", kHops[h]}};
      Families::counter(bytes, hd, static_cast<double>(hs.data_bytes[d]));
      Families::counter(wu, hd, static_cast<double>(hs.window_updates[d]));
      Families::counter(wu_bytes, hd, static_cast<double>(hs.window_update_bytes[d]));
      Families::counter(pings, hd, static_cast<double>(hs.pings[d]));
      Families::counter(acks, hd, static_cast<double>(hs.ping_acks[d]));
    }
    // error_code: the 14 names of RFC 9113 section 7 and "unknown" (label_bounds.h).
    auto byCode = [&](MetricFamily& f, const H2ErrorCounts& counts) {
      for (size_t code = 0; code < counts.size(); ++code) {
        if (counts[code] == 0) continue;
        Families::counter(f, {{"error_code", h2ErrorName(static_cast<uint32_t>(code))}, {"hop", kHops[h]}},
                          static_cast<double>(counts[code]));
      }
    };
    byCode(goaway, hs.goaway[0]);  // received
    byCode(goaway_sent, hs.goaway[1]);
    byCode(rst, hs.rst[0]);
    byCode(rst_sent, hs.rst[1]);
    for (const auto& [key, n] : hs.tls_handshakes) {
      const auto& [version, alpn, resumed] = key;
      Families::counter(tls_n,
                        {{"alpn", alpn}, {"hop", kHops[h]}, {"resumed", resumed ? "true" : "false"}, {"version", version}},
                        static_cast<double>(n));
    }
  }
  Families::histogram(out.family("grpcscope_upstream_connect_seconds",
                                 "Upstream connection set-up: name resolution plus TCP connect.", T::Histogram),
                      {}, s.hops[1].connect_time);

  auto& violations = out.family("grpcscope_violations_total",
                                "Connections closed for breaking a limit (flood, rapid reset, protocol).", T::Counter);
  for (const auto& [kind, n] : s.violations.counts()) {
    Families::counter(violations, {{"kind", kind}}, static_cast<double>(n));
  }
  Families::counter(out.family("grpcscope_upstream_failures_total",
                               "Calls or connections grpcscope answered itself because the upstream failed.",
                               T::Counter),
                    {}, static_cast<double>(s.upstream_failures));
  Families::counter(out.family("grpcscope_events_dropped_total",
                               "Finished-call events not delivered to /api/events (subscribers too slow).", T::Counter),
                    {}, static_cast<double>(s.tap_dropped));
  if (findings) {
    // Ids come from the rule set, severity and layer from fixed lists: bounded labels.
    auto& active = out.family("grpcscope_findings", "Active findings (1 while active; docs/findings.md).", T::Gauge);
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    for (const auto& a : findings->active) {
      if (!seen.emplace(a.id, a.severity, a.layer).second) continue;
      Families::gauge(active, {{"id", a.id}, {"severity", a.severity}, {"layer", a.layer}}, 1);
    }
    auto& raised = out.family("grpcscope_findings_raised_total", "Times each finding was raised.", T::Counter);
    std::map<std::string, uint64_t> totals;
    for (const auto& rule : findings::allRules()) totals[std::string(rule.id)] = 0;
    for (const auto& [id, n] : findings->raised_totals) totals[id] = n;
    for (const auto& [id, n] : totals) Families::counter(raised, {{"id", id}}, static_cast<double>(n));
  }
  return out.text();
}

}  // namespace grpcscope
