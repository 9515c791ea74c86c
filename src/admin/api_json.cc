#include "admin/api_json.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "analysis/descriptor_names.h"
#include "analysis/grpc_codes.h"

namespace grpcscope {
namespace {

using nlohmann::json;

const char* kHops[2] = {"downstream", "upstream"};

double secs(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

json latency(const Histogram& h) {
  return {{"count", h.count()},
          {"mean_s", h.count() ? h.sum() / static_cast<double>(h.count()) : 0.0},
          {"p50_s", h.quantile(0.5)},
          {"p90_s", h.quantile(0.9)},
          {"p99_s", h.quantile(0.99)}};
}

// Round trips (HopStats::large_message_rtts_*): a count, not seconds.
json roundTrips(const Histogram& h) {
  return {{"count", h.count()}, {"p50", h.quantile(0.5)}, {"p90", h.quantile(0.9)}};
}

json statusCounts(const std::array<uint64_t, kGrpcStatusCount>& by_status) {
  json j = json::object();
  for (int code = 0; code < kGrpcStatusCount; ++code) {
    if (by_status[code]) j[grpcStatusName(code)] = by_status[code];
  }
  return j;
}

// Keys: RFC 9113 names and "unknown" (a peer chooses the codes).
json codeCounts(const H2ErrorCounts& counts) {
  json j = json::object();
  for (size_t code = 0; code < counts.size(); ++code) {
    if (counts[code]) j[h2ErrorName(static_cast<uint32_t>(code))] = counts[code];
  }
  return j;
}

json textCounts(const BoundedCounts& counts) {
  json j = json::object();
  for (const auto& [text, n] : counts.counts()) j[text] = n;
  return j;
}

const char* settingName(uint16_t id) {
  switch (id) {
    case 1: return "HEADER_TABLE_SIZE";
    case 2: return "ENABLE_PUSH";
    case 3: return "MAX_CONCURRENT_STREAMS";
    case 4: return "INITIAL_WINDOW_SIZE";
    case 5: return "MAX_FRAME_SIZE";
    case 6: return "MAX_HEADER_LIST_SIZE";
    case 8: return "ENABLE_CONNECT_PROTOCOL";
    case 9: return "NO_RFC7540_PRIORITIES";
    default: return nullptr;
  }
}

json settingsJson(const std::map<uint16_t, uint32_t>& m) {
  json j = json::object();
  for (const auto& [id, value] : m) {
    const char* name = settingName(id);
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%x", id);
    j[name ? name : hex] = value;
  }
  return j;
}

json tlsJson(const TlsView& t) {
  if (!t.present) return nullptr;
  auto phase = [](uint64_t ns) { return ns ? json(secs(ns)) : json(); };
  json j = {{"version", t.version},
            {"cipher", t.cipher},
            {"group", t.group},
            {"alpn", t.alpn.empty() ? "none" : t.alpn},
            {"sni", t.sni},
            {"resumed", t.resumed},
            {"handshake_s", secs(t.handshake_ns)},
            {"phases",
             {{"client_hello_s", phase(t.client_hello_ns)},
              {"server_hello_s", phase(t.server_hello_ns)},
              {"certificate_s", phase(t.certificate_ns)},
              {"verify_s", phase(t.verify_ns)},
              {"finished_s", secs(t.handshake_ns)}}},
            {"peer_certificate",
             t.peer_subject.empty()
                 ? json()
                 : json{{"subject", t.peer_subject}, {"issuer", t.peer_issuer}, {"days_left", t.peer_days_left}}}};
  if (!t.ja3_md5.empty() || !t.offered_alpn.empty() || !t.offered_versions.empty()) {
    j["client_hello"] = {{"sni", t.offered_sni},         {"alpn", t.offered_alpn},
                         {"versions", t.offered_versions}, {"cipher_suites", t.offered_ciphers},
                         {"groups", t.offered_groups},   {"ja3", t.ja3},
                         {"ja3_md5", t.ja3_md5}};
  }
  return j;
}

json tcpJson(const TcpInfoSample& s) {
  if (!s.valid) return nullptr;
  return {{"rtt_s", s.rtt_us / 1e6},
          {"rttvar_s", s.rttvar_us / 1e6},
          {"min_rtt_s", s.min_rtt_us / 1e6},
          {"snd_cwnd", s.snd_cwnd},
          {"snd_mss", s.snd_mss},
          {"unacked_segments", s.unacked},
          {"bytes_in_flight", static_cast<uint64_t>(s.unacked) * s.snd_mss},
          {"lost", s.lost},
          {"total_retransmits", s.total_retrans},
          {"delivery_rate_bytes_per_s", s.delivery_rate},
          {"busy_s", s.busy_us / 1e6},
          {"rwnd_limited_s", s.rwnd_limited_us / 1e6},
          {"sndbuf_limited_s", s.sndbuf_limited_us / 1e6}};
}

json legJson(const LegView& leg, const LiveLegFacts& live, uint64_t now_ns) {
  if (!leg.opened) return nullptr;
  json j = {
      {"open", !leg.closed},
      {"peer", leg.peer},
      {"local", leg.local},
      {"age_s", leg.opened_ns && now_ns > leg.opened_ns ? secs(now_ns - leg.opened_ns) : 0.0},
      {"streams", leg.streams},
      {"settings",
       {{"received", settingsJson(leg.settings_received)},
        {"sent", settingsJson(leg.settings_sent)},
        {"ids_dropped", leg.settings_ids_dropped}}},
      {"windows",
       {{"send_window", live.remote_window},
        {"receive_window", live.local_window},
        {"pending_output_bytes", live.pending_output}}},
      {"active_streams", live.open_streams},
      {"data_bytes", {{"received", leg.data_bytes[0]}, {"sent", leg.data_bytes[1]}}},
      {"window_updates",
       {{"received", leg.window_updates[0]},
        {"sent", leg.window_updates[1]},
        {"received_bytes", leg.window_update_bytes[0]},
        {"sent_bytes", leg.window_update_bytes[1]}}},
      {"flow_control", {{"stalls", leg.stalls}, {"stall_s", secs(leg.stall_ns)}}},
      {"pings",
       {{"received", leg.pings[0]},
        {"sent", leg.pings[1]},
        {"acks_received", leg.ping_acks[0]},
        {"acks_sent", leg.ping_acks[1]},
        {"without_data", leg.pings_without_data},
        {"keepalive", leg.keepalive_pings},
        {"bdp", leg.bdp_pings},
        {"after_server_data", leg.pings_after_server_frames},
        {"strikes", leg.ping_strikes},
        {"strikes_tolerated", leg.strikes_tolerated},
        {"rtt_s",
         leg.last_rtt_ns ? json{{"last", secs(leg.last_rtt_ns)}, {"min", secs(leg.min_rtt_ns)}, {"max", secs(leg.max_rtt_ns)}}
                         : json()}}},
      {"goaway", leg.goaway ? json{{"direction", leg.goaway_direction},
                                   {"error_code", h2ErrorName(leg.goaway_code)},
                                   {"error_code_value", leg.goaway_code},
                                   {"last_stream_id", leg.goaway_last_stream},
                                   {"debug_data", leg.goaway_debug}}
                            : json()},
      {"tls", tlsJson(leg.tls)},
      {"tcp", tcpJson(leg.tcp)},
  };
  if (leg.setup_ns) j["setup_s"] = secs(leg.setup_ns);
  // Since the leg's transport was up (accepted; upstream: connected), like the TLS phases.
  if (leg.first_headers_ns >= leg.opened_ns && leg.first_headers_ns) {
    j["first_headers_s"] = secs(leg.first_headers_ns - leg.opened_ns);
  }
  if (leg.first_data_ns >= leg.opened_ns && leg.first_data_ns) j["first_data_s"] = secs(leg.first_data_ns - leg.opened_ns);
  if (leg.dns_ns) j["dns_s"] = secs(leg.dns_ns);
  if (leg.closed) j["close"] = {{"reason", leg.close_reason}, {"detail", leg.close_detail}};
  return j;
}

json tcpTotals(const WorkerStats& s) {
  json j = json::object();
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = s.hops[h];
    j[kHops[h]] = {{"samples", hs.tcp_samples},
                   {"rtt", latency(hs.tcp_rtt)},
                   {"retransmits", hs.tcp_retransmits},
                   {"busy_s", hs.tcp_busy_us / 1e6},
                   {"rwnd_limited_s", hs.tcp_rwnd_limited_us / 1e6},
                   {"sndbuf_limited_s", hs.tcp_sndbuf_limited_us / 1e6},
                   {"segs_out", hs.tcp_segs_out},
                   {"large_message_rtts_after_idle", roundTrips(hs.large_message_rtts_after_idle)},
                   {"large_message_rtts_warm", roundTrips(hs.large_message_rtts_warm)}};
  }
  return j;
}

// The size histogram's buckets (non-cumulative counts, upper bounds in bytes:
// 8 B doubling to 256 MiB, then +Inf as null), from the first to the last
// non-empty one: at most 27 entries, whatever the peers send.
json sizeBuckets(const Histogram& h) {
  json out = json::array();
  auto bounds = h.bounds();
  size_t first = bounds.size() + 1, last = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    if (h.bucket(i) == 0) continue;
    first = std::min(first, i);
    last = i;
  }
  for (size_t i = first; i <= last && i <= bounds.size(); ++i) {
    out.push_back({{"le", i < bounds.size() ? json(bounds[i]) : json(nullptr)}, {"count", h.bucket(i)}});
  }
  return out;
}

json sideJson(const MethodStats& m, int d) {
  const Histogram& h = m.message_size[d];
  return {{"messages", m.messages[d]},
          {"bytes", m.message_bytes[d]},
          {"compressed_messages", m.compressed_messages[d]},
          {"size_bytes",
           {{"mean", h.count() ? h.sum() / static_cast<double>(h.count()) : 0.0},
            {"p50", h.quantile(0.5)},
            {"p99", h.quantile(0.99)},
            {"max", h.sketch().max()},
            {"buckets", sizeBuckets(h)}}}};
}

json methodJson(const std::string& name, const MethodStats& m, const DescriptorNames* names) {
  json j = {{"method", name},
            {"calls", {{"started", m.started}, {"finished", m.finished}}},
            {"status", statusCounts(m.by_status)},
            {"errors", m.finished - m.by_status[0]},
            {"latency", latency(m.duration)},
            {"request", sideJson(m, kRequest)},
            {"response", sideJson(m, kResponse)},
            {"flow_control", {{"stalls", m.stalls}, {"stall_s", secs(m.stall_ns)}}}};
  std::string path = "/" + name;
  j["wire"] = {{"request", m.wire[kRequest].toJson(names, path, true)},
               {"response", m.wire[kResponse].toJson(names, path, false)}};
  return j;
}

// The figures of one window: what a load test watches (rates, statuses, latency).
// Built field by field rather than from one initializer list: civetweb's
// threads have small stacks, and a sanitized build's frames for nested
// initializer lists are large (docs/architecture.md, admin threads).
json windowJson(const findings::StatsWindow& w) {
  const WorkerStats& s = w.stats;
  json j = json::object();
  j["seconds"] = w.seconds;
  if (w.empty()) return j;
  double span = w.seconds;
  uint64_t errors = s.calls_finished - std::min(s.calls_finished, s.by_status[0]);
  uint64_t bytes = s.hops[0].data_bytes[0] + s.hops[1].data_bytes[0];
  json calls = json::object();
  calls["started"] = s.calls_started;
  calls["finished"] = s.calls_finished;
  calls["errors"] = errors;
  j["calls"] = std::move(calls);
  j["calls_per_s"] = static_cast<double>(s.calls_finished) / span;
  j["errors_per_s"] = static_cast<double>(errors) / span;
  j["data_bytes_per_s"] = static_cast<double>(bytes) / span;
  json opened = json::object();
  opened["downstream"] = s.hops[0].connections_opened;
  opened["upstream"] = s.hops[1].connections_opened;
  j["connections_opened"] = std::move(opened);
  j["by_status"] = statusCounts(s.by_status);
  j["latency"] = latency(s.call_duration);
  j["proxy_time"] = latency(s.proxy_time);
  j["upstream_time"] = latency(s.upstream_time);
  return j;
}

json methodWindowJson(const findings::StatsWindow& w, const std::string& name, bool other) {
  json j = json::object();
  j["seconds"] = w.seconds;
  if (w.empty()) return j;
  const MethodStats* m = nullptr;
  if (other) {
    m = &w.stats.other_methods;
  } else if (auto it = w.stats.methods.find(name); it != w.stats.methods.end()) {
    m = &it->second;
  }
  static const MethodStats kNone;
  if (!m) m = &kNone;
  json calls = json::object();
  calls["started"] = m->started;
  calls["finished"] = m->finished;
  j["calls"] = std::move(calls);
  j["calls_per_s"] = static_cast<double>(m->finished) / w.seconds;
  j["errors"] = m->finished - std::min(m->finished, m->by_status[0]);
  j["status"] = statusCounts(m->by_status);
  j["latency"] = latency(m->duration);
  j["request"] = sideJson(*m, kRequest);
  j["response"] = sideJson(*m, kResponse);
  return j;
}

json windowsJson(const PublishedWindows* windows) {
  static const findings::StatsWindow kEmpty;
  json j = json::object();
  j["10s"] = windowJson(windows ? windows->last10s : kEmpty);
  j["60s"] = windowJson(windows ? windows->last60s : kEmpty);
  return j;
}

}  // namespace

json summaryJson(const CollectedStats& c, const ProcessFacts& process, const Rates& rates,
                 const PublishedWindows* windows) {
  const WorkerStats& s = c.stats;
  json connections = json::object();
  json flow = json::object();
  json pings = json::object();
  json tls = json::object();
  json resets = json::object();
  json goaways = json::object();
  for (int h = 0; h < 2; ++h) {
    const HopStats& hs = s.hops[h];
    connections[kHops[h]] = {{"active", hs.connections_opened - hs.connections_closed},
                             {"total", hs.connections_opened},
                             {"closed", hs.connections_closed},
                             {"stream_limit_busy_s", secs(hs.stream_limit_busy_ns)},
                             {"stream_limit_full_s", secs(hs.stream_limit_full_ns)}};
    flow[kHops[h]] = {{"stalls", hs.stalls},
                      {"stall_s", secs(hs.stall_ns)},
                      {"connection_stalls", hs.connection_stalls},
                      {"send_active_s", secs(hs.send_active_ns)}};
    pings[kHops[h]] = {{"received", hs.pings[0]},
                       {"sent", hs.pings[1]},
                       {"without_data", hs.pings_without_data},
                       {"keepalive", hs.keepalive_pings},
                       {"bdp", hs.bdp_pings},
                       {"after_server_data", hs.pings_after_server_frames},
                       {"rtt", latency(hs.ping_rtt)}};
    uint64_t resumed = 0, total = 0;
    for (const auto& [key, n] : hs.tls_handshakes) {
      total += n;
      if (std::get<2>(key)) resumed += n;
    }
    tls[kHops[h]] = {{"handshakes", total}, {"resumed", resumed}, {"full", total - resumed},
                     {"handshake", latency(hs.tls_handshake)}};
    resets[kHops[h]] = {{"received", codeCounts(hs.rst[0])}, {"sent", codeCounts(hs.rst[1])}};
    goaways[kHops[h]] = {{"received", codeCounts(hs.goaway[0])}, {"sent", codeCounts(hs.goaway[1])},
                         {"debug_data_received", textCounts(hs.goaway_debug)},
                         {"notices", hs.goaway_notices},
                         {"two_phase", hs.goaway_two_phase},
                         {"calls_cut_after_notice", hs.calls_cut_after_notice}};
  }
  // The clients opening connections fastest (churn).
  std::vector<std::pair<std::string, const ClientChurn*>> clients;
  uint64_t newest = 0;
  for (const auto& [ip, churn] : s.churn) newest = std::max(newest, churn.last_second);
  for (const auto& [ip, churn] : s.churn) clients.emplace_back(ip, &churn);
  std::sort(clients.begin(), clients.end(), [newest](const auto& a, const auto& b) {
    uint64_t ra = a.second->recent(newest), rb = b.second->recent(newest);
    return ra != rb ? ra > rb : a.second->total > b.second->total;
  });
  json top = json::array();
  for (size_t i = 0; i < clients.size() && i < 10; ++i) {
    top.push_back({{"address", clients[i].first},
                   {"connections", clients[i].second->total},
                   {"connections_last_10s", clients[i].second->recent(newest)}});
  }
  json violations = textCounts(s.violations);
  json causes = textCounts(s.upstream_failure_causes);
  json out = {
      {"version", process.version},
      {"uptime_s", process.uptime_s},
      {"measurement", process.measuring},
      {"workers", {{"count", c.workers}, {"answered", c.workers_answered}}},
      {"connections", connections},
      {"streams", {{"active", c.active_calls}, {"total", s.streams_opened}}},
      {"rpcs",
       {{"started", s.calls_started},
        {"finished", s.calls_finished},
        {"active", c.active_calls},
        {"ok", s.by_status[0]},
        {"errors", s.calls_finished - s.by_status[0]},
        {"by_status", statusCounts(s.by_status)}}},
      {"rates",
       {{"window_s", rates.window_s},
        {"calls_per_s", rates.calls_finished_per_s},
        {"errors_per_s", rates.calls_failed_per_s},
        {"connections_per_s", rates.connections_per_s},
        {"data_bytes_per_s", rates.data_bytes_per_s}}},
      {"latency", latency(s.call_duration)},
      {"proxy_time", latency(s.proxy_time)},
      {"upstream_time", latency(s.upstream_time)},
      {"loop_lag", latency(s.loop_lag)},
      {"flow_control", flow},
      {"pings", pings},
      {"tls", tls},
      {"tcp", tcpTotals(s)},
      {"rst_stream", resets},
      {"goaway", goaways},
      {"upstream_failures", {{"total", s.upstream_failures}, {"causes", causes}}},
      {"violations", violations},
      {"churn", {{"clients", s.churn.size()}, {"top", top}}},
      {"methods", s.methods.size()},
      {"events_dropped", s.tap_dropped},
  };
  out["windows"] = windowsJson(windows);
  return out;
}

json methodsJson(const CollectedStats& c, const DescriptorNames* names, const PublishedWindows* windows) {
  std::vector<const std::pair<const std::string, MethodStats>*> order;
  for (const auto& entry : c.stats.methods) order.push_back(&entry);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return a->second.started != b->second.started ? a->second.started > b->second.started : a->first < b->first;
  });
  json list = json::array();
  static const findings::StatsWindow kEmpty;
  const findings::StatsWindow& w10 = windows ? windows->last10s : kEmpty;
  const findings::StatsWindow& w60 = windows ? windows->last60s : kEmpty;
  for (auto* entry : order) {
    json j = methodJson(entry->first, entry->second, names);
    j["windows"] = {{"10s", methodWindowJson(w10, entry->first, false)},
                    {"60s", methodWindowJson(w60, entry->first, false)}};
    list.push_back(std::move(j));
  }
  const MethodStats& other = c.stats.other_methods;
  if (other.started || other.messages[0] || other.messages[1]) {
    json j = methodJson("other", other, nullptr);
    j["windows"] = {{"10s", methodWindowJson(w10, "", true)}, {"60s", methodWindowJson(w60, "", true)}};
    list.push_back(std::move(j));
  }
  return {{"methods", list}};
}

json connectionsJson(const CollectedStats& c, uint64_t now_ns) {
  json list = json::array();
  for (size_t i = 0; i < c.connections.size(); ++i) {
    const ConnectionView& v = c.connections[i];
    const LiveConnectionFacts& live = c.live[i];
    list.push_back({{"worker", v.worker},
                    {"id", v.id},
                    {"calls", v.calls},
                    {"buffered_bytes", live.buffered_bytes},
                    {"downstream", legJson(v.legs[0], live.legs[0], now_ns)},
                    {"upstream", legJson(v.legs[1], live.legs[1], now_ns)}});
  }
  return {{"count", c.live_connections}, {"listed", list.size()}, {"connections", list}};
}

}  // namespace grpcscope
