// The measuring Observer of one worker: turns the relay's events into call
// records (deframing gRPC messages, sampling bodies for the wire analysis),
// per-connection state and the worker's aggregates (WorkerStats). Everything
// runs on the worker's loop thread; the admin side gets copies through
// snapshot(), which the worker runs on its loop when asked (Worker::post).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <grpcscope/config.h>
#include <grpcscope/observer.h>

#include "analysis/call_record.h"
#include "analysis/event_tap.h"
#include "analysis/grpc_deframer.h"
#include "analysis/stats.h"
#include "analysis/tcp_info.h"

namespace grpcscope {

struct TlsView {
  bool present = false;
  std::string version, cipher, group, alpn, sni;
  bool resumed = false;
  std::string peer_subject, peer_issuer;
  int64_t peer_days_left = 0;
  uint64_t handshake_ns = 0, client_hello_ns = 0, server_hello_ns = 0, certificate_ns = 0, verify_ns = 0;
  std::string offered_sni, offered_alpn, offered_versions, offered_groups, ja3, ja3_md5;
  size_t offered_ciphers = 0;
};

struct LegView {
  bool opened = false;
  bool closed = false;
  std::string peer, local;
  int fd = -1;
  uint64_t opened_ns = 0, closed_ns = 0;
  uint64_t setup_ns = 0, dns_ns = 0;
  std::string close_reason, close_detail;
  // Latest value per SETTINGS id. Ids are the peer's choice (RFC 9113
  // section 6.5.2: unknown ones are ignored, so a peer may send thousands):
  // at most kMaxSettingIds per direction, further new ids only counted.
  static constexpr size_t kMaxSettingIds = 16;
  std::map<uint16_t, uint32_t> settings_received, settings_sent;
  uint64_t settings_ids_dropped = 0;
  uint64_t streams = 0;
  std::array<uint64_t, 2> data_bytes{};           // by Direction
  uint64_t conn_window_increments_received = 0;   // WINDOW_UPDATE on stream 0 from the peer
  std::array<uint64_t, 2> window_updates{};
  std::array<uint64_t, 2> window_update_bytes{};
  uint64_t stalls = 0, stall_ns = 0;
  std::array<uint64_t, 2> pings{}, ping_acks{};
  uint64_t pings_without_data = 0;
  uint64_t last_ping_received_ns = 0;
  bool frames_since_ping = true;
  uint64_t last_rtt_ns = 0, min_rtt_ns = 0, max_rtt_ns = 0;
  bool goaway = false;
  std::string goaway_direction;
  uint32_t goaway_code = 0;                       // as received; shown by name only if registered
  int32_t goaway_last_stream = 0;
  std::string goaway_debug;                       // printable characters only, at most 256
  TlsView tls;
  TcpInfoSample tcp;
  uint32_t tcp_retrans_seen = 0;
  // Appended for the flow-control and transport findings (HopStats::send_active_ns,
  // tcp_segs_out, large_message_rtts_*):
  uint64_t last_data_sent_ns = 0;      // the latest DATA frame sent on this leg
  uint64_t last_data_received_ns = 0;  // the latest DATA from the peer: how long it was idle before a call
  uint32_t blocked_streams = 0;     // streams waiting on this leg's peer's window now
  bool blocked_since_data = false;  // a stream waited on it since last_data_sent_ns
  uint32_t tcp_segs_out_seen = 0;
  // Downstream: the client's PINGs as a gRPC server's ping policy counts them
  // (analysis_observer.cc, classifyClientPing), under gRPC's default policy.
  uint64_t keepalive_pings = 0, bdp_pings = 0, pings_after_server_frames = 0;
  uint64_t last_keepalive_ping_ns = 0;
  uint64_t last_keepalive_interval_ns = 0;  // since the client's previous PING
  uint32_t ping_strikes = 0;                // early keepalive PINGs since the server last sent HEADERS/DATA
  uint32_t calls_at_last_ping = 0;
  bool server_frames_since_ping = false;
  bool strikes_tolerated = false;           // more strikes than the default allows, and no GOAWAY
  // Upstream: phase one of the server's graceful GOAWAY (gRFC A9), and phase two after it.
  uint64_t goaway_notice_ns = 0;
  bool goaway_final_after_notice = false;
  // The first HEADERS and DATA frames on this leg, either way (the page's
  // TLS waterfall ends with them; 0: none yet).
  uint64_t first_headers_ns = 0, first_data_ns = 0;
};

struct ConnectionView {
  uint32_t worker = 0;
  uint64_t id = 0;
  uint64_t calls = 0;
  std::array<LegView, 2> legs;  // by Hop
};

struct WorkerSnapshot {
  uint32_t worker = 0;
  WorkerStats stats;
  uint64_t live_connections = 0;
  uint64_t active_calls = 0;
  std::vector<ConnectionView> connections;     // when asked for, at most max
  std::vector<LiveConnectionFacts> live;       // filled by the worker (Worker::liveFacts)
};

class AnalysisObserver final : public Observer {
 public:
  // start_ns: the process start (shared by workers: churn seconds line up).
  AnalysisObserver(uint32_t worker, const AnalysisConfig& config, uint64_t start_ns, EventTap* tap);
  ~AnalysisObserver() override;

  void onConnectionOpen(const ConnectionOpenEvent&) override;
  void onConnectionClose(const ConnectionCloseEvent&) override;
  void onSettings(const SettingsEvent&) override;
  void onStreamOpen(const StreamEvent&) override;
  void onStreamMapped(const StreamMapEvent&) override;
  void onHeaders(const HeadersEvent&) override;
  void onData(const DataEvent&) override;
  void onRstStream(const RstStreamEvent&) override;
  void onStreamClose(const StreamCloseEvent&) override;
  void onWindowUpdate(const WindowUpdateEvent&) override;
  void onFlowControl(const FlowControlEvent&) override;
  void onPing(const PingEvent&) override;
  void onGoaway(const GoawayEvent&) override;
  void onViolation(const ViolationEvent&) override;
  void onUpstreamFailure(const UpstreamFailureEvent&) override;
  void onTlsHandshake(const TlsHandshakeEvent&) override;
  void onTick(uint64_t now_ns) override;

  // Loop thread: a copy of the aggregates (without per-method and per-client
  // parts unless with_methods), and of up to max_connections live connections
  // when with_connections.
  WorkerSnapshot snapshot(bool with_methods, bool with_connections, size_t max_connections) const;

 private:
  struct Call;
  struct Conn {
    ConnectionView view;
    std::unordered_map<int32_t, int32_t> up_to_down;  // upstream stream id -> downstream id
    std::unordered_set<int32_t> open_calls;           // downstream ids of unfinished calls
    uint64_t stream_limit_mark_ns = 0;                // time up to which accountStreamLimit counted
  };

  Conn* conn(uint64_t id);
  // The call of a stream on either hop; `c` saves the connection lookup when the caller has it.
  Call* call(uint64_t conn_id, Hop hop, int32_t stream_id, Conn* c = nullptr);
  MethodStats& methodStats(const std::string& method);
  void finishCall(Call& c, uint64_t at_ns);
  void classifyClientPing(Conn& c, const PingEvent& ev);
  void onServerGoaway(Conn& c, const GoawayEvent& ev);
  ClientPings& clientPings(const std::string& peer);
  // Adds the time since the last mark to each hop's stream-limit counters
  // (HopStats::stream_limit_*), by the calls open until now; called before
  // the number of open calls changes, and on every tick.
  void accountStreamLimit(Conn& c, uint64_t now_ns);

  uint32_t worker_;
  AnalysisConfig config_;
  uint64_t start_ns_;
  EventTap* tap_;
  WorkerStats stats_;
  std::unordered_map<uint64_t, Conn> conns_;
  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;  // key: connection id << 32 | downstream id
  uint64_t last_tick_ns_ = 0;  // the previous onTick, for the loop lag
};

}  // namespace grpcscope
