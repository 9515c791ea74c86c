// The aggregates one worker keeps (no locks: only its loop thread writes
// them) and that the admin side merges from copies (snapshots). Every field
// here is exposed in /metrics or the JSON API; docs/metrics.md says which.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <grpcscope/observer.h>

#include "analysis/grpc_codes.h"
#include "analysis/histogram.h"
#include "analysis/label_bounds.h"
#include "analysis/wire_profile.h"

namespace grpcscope {

// Message directions of a call (gRPC's view, not the proxy's).
enum MessageDir : uint8_t { kRequest = 0, kResponse = 1 };
const char* messageDirName(int dir);

constexpr int kCloseReasonCount = 8;

struct MethodStats {
  uint64_t started = 0;
  uint64_t finished = 0;
  std::array<uint64_t, kGrpcStatusCount> by_status{};
  std::map<int, Histogram> duration_by_status;  // only the statuses seen
  Histogram duration{HistogramUnit::kSeconds};
  std::array<uint64_t, 2> messages{};            // by MessageDir
  std::array<uint64_t, 2> message_bytes{};       // message bodies, as on the wire (compressed if so)
  std::array<uint64_t, 2> compressed_messages{};
  std::array<Histogram, 2> message_size{Histogram(HistogramUnit::kBytes), Histogram(HistogramUnit::kBytes)};
  uint64_t stalls = 0;                           // its streams blocked on a peer's window
  uint64_t stall_ns = 0;
  std::array<WireProfile, 2> wire;
  std::array<uint64_t, 2> wire_seen{};           // messages offered to sampling
  // For the serialization and application findings (docs/findings.md):
  Histogram upstream_time{HistogramUnit::kSeconds};  // request headers out -> trailers back, per call
  Histogram deadline{HistogramUnit::kSeconds};       // the grpc-timeout of each call that sent one
  Histogram deadline_exceeded_deadline{HistogramUnit::kSeconds};  // ... of the calls that ended DEADLINE_EXCEEDED
  // Largest request message (as its prefix declared it) of each call that
  // ended RESOURCE_EXHAUSTED for its size ("larger than max", or over 4 MiB).
  Histogram exhausted_request_size{HistogramUnit::kBytes};
  uint64_t receive_limit_bytes = 0;  // the largest limit such a status named ("N vs. M"): a maximum, never windowed

  void merge(const MethodStats& other);
  // Leaves what happened since `earlier` (stats_window.cc). The wire profile
  // stays cumulative: it is a sample, not a count.
  void subtract(const MethodStats& earlier);
};

// version (tlsVersionLabel), alpn (alpnLabel: "h2", "http/1.1", "none", "other"), resumed
using TlsKey = std::tuple<std::string, std::string, bool>;

struct HopStats {
  uint64_t connections_opened = 0;
  uint64_t connections_closed = 0;
  std::array<uint64_t, kCloseReasonCount> close_reasons{};
  Histogram connection_lifetime{HistogramUnit::kSeconds};
  Histogram streams_per_connection{HistogramUnit::kCount};
  Histogram connect_time{HistogramUnit::kSeconds};  // upstream: resolution + TCP connect
  uint64_t bytes_in = 0;   // closed connections
  uint64_t bytes_out = 0;
  std::array<uint64_t, 2> data_frames{};         // by Direction
  std::array<uint64_t, 2> data_bytes{};
  std::array<uint64_t, 2> headers_frames{};
  std::array<uint64_t, 2> settings_frames{};
  uint64_t stalls = 0;                           // this hop's peer's windows closed with bytes waiting
  uint64_t stall_ns = 0;
  uint64_t connection_stalls = 0;                // of those, with the connection window closed
  std::array<uint64_t, 2> window_updates{};
  std::array<uint64_t, 2> window_update_bytes{};
  std::array<uint64_t, 2> pings{};               // not ACKs
  std::array<uint64_t, 2> ping_acks{};
  uint64_t pings_without_data = 0;               // PINGs received with no HEADERS/DATA since the previous one
  Histogram ping_rtt{HistogramUnit::kSeconds};
  Histogram ping_interval{HistogramUnit::kSeconds};  // between PINGs received on one connection
  // By Direction, then h2ErrorBucket(code): a peer chooses the code, so codes
  // outside RFC 9113's registry share one "unknown" bucket.
  std::array<H2ErrorCounts, 2> goaway{};
  std::array<H2ErrorCounts, 2> rst{};
  // Received GOAWAY debug data ("too_many_pings"): kMaxDebug texts of at most
  // kMaxDebugBytes printable characters, later ones under "other".
  static constexpr size_t kMaxDebug = 32;
  static constexpr size_t kMaxDebugBytes = 64;
  BoundedCounts goaway_debug{kMaxDebug, kMaxDebugBytes};
  Histogram tls_handshake{HistogramUnit::kSeconds};
  std::map<TlsKey, uint64_t> tls_handshakes;
  Histogram tcp_rtt{HistogramUnit::kSeconds};    // TCP_INFO samples
  uint64_t tcp_retransmits = 0;                  // segments, summed over samples' increases
  uint64_t tcp_samples = 0;
  uint64_t tcp_busy_us = 0;                      // TCP_INFO increases between samples
  uint64_t tcp_rwnd_limited_us = 0;
  uint64_t tcp_sndbuf_limited_us = 0;
  // Appended for the flow-control and transport findings (docs/findings.md):
  // Time DATA was being sent to this hop's peer, summed over connections: the
  // gaps between DATA frames sent on one connection, when at most 200 ms or
  // when a stream waited on the peer's window meanwhile. data_bytes[kSent] /
  // this = a connection's throughput while it sends.
  uint64_t send_active_ns = 0;
  uint64_t tcp_segs_out = 0;                     // segments sent, summed over samples' increases (TCP_INFO)
  // Messages of at least 64 KiB received on this hop (requests from the
  // client, responses from the server): the round trips (first to last DATA
  // frame over the leg's TCP minimum RTT) they took to arrive when the peer
  // had sent no DATA on the connection for at least 1 s before, and when it
  // had within 100 ms (first calls of a connection are in neither).
  Histogram large_message_rtts_after_idle{HistogramUnit::kCount};
  Histogram large_message_rtts_warm{HistogramUnit::kCount};
  // Keepalive and connection age (docs/findings.md, connection rules).
  // Downstream: the client's PINGs as a gRPC server's ping policy sees them.
  uint64_t keepalive_pings = 0;            // not a BDP probe, no server HEADERS/DATA since the client's previous PING
  uint64_t bdp_pings = 0;                  // grpc-go's BDP probe payload
  uint64_t pings_after_server_frames = 0;  // the server sent HEADERS/DATA since the previous PING (strikes reset)
  Histogram keepalive_ping_interval{HistogramUnit::kSeconds};  // before a keepalive PING, since the previous PING
  // Upstream: the server's graceful two-phase GOAWAY (gRFC A9; docs/findings.md).
  uint64_t goaway_notices = 0;             // GOAWAY NO_ERROR with last stream 2^31-1 (phase one)
  uint64_t goaway_two_phase = 0;           // ... then a final GOAWAY NO_ERROR with the real last stream
  Histogram goaway_notice_age{HistogramUnit::kSeconds};  // the connection's age at the notice
  Histogram goaway_drain{HistogramUnit::kSeconds};       // notice to the connection's close
  uint64_t calls_cut_after_notice = 0;     // calls still open when a noticed connection closed
  // SETTINGS_MAX_CONCURRENT_STREAMS on this hop (RFC 9113 section 5.1.2):
  // upstream the server's limit on our streams, downstream the one we offer
  // the client. Time connections with such a limit had a call open, and the
  // part of it with as many calls open as the limit allows (a new call waits).
  uint64_t stream_limit_busy_ns = 0;
  uint64_t stream_limit_full_ns = 0;

  void merge(const HopStats& other);
  void subtract(const HopStats& earlier);
};

// New connections per client address: totals and the last 10 seconds.
struct ClientChurn {
  uint64_t total = 0;
  uint64_t last_second = 0;                      // seconds since the worker started
  std::array<uint32_t, 10> per_second{};         // ring by second
  uint64_t recent(uint64_t now_second) const;    // connections in the 10 s before now
  void add(uint64_t now_second);
};

// What one client's connections earned from the server's ping policy: the
// too_many_pings GOAWAYs (the last kMaxKept, oldest first, each with the
// client's PING interval on that connection: the reconnects' backoff shows),
// and the shortest interval the server let through more strikes than gRPC's
// default allows (the server's policy is laxer than the default).
struct ClientPings {
  struct Goaway {
    uint64_t at_ns = 0;        // the workers' clock (uv_hrtime)
    uint64_t interval_ns = 0;  // the client's last keepalive PING interval on that connection (0: unknown)
    uint32_t calls_active = 0; // calls open on the connection at the GOAWAY
    uint64_t pings = 0;        // PINGs the client sent on that connection
  };
  static constexpr size_t kMaxKept = 8;
  uint64_t too_many_pings = 0;
  std::vector<Goaway> goaways;       // at most kMaxKept, oldest first
  uint64_t tolerated_interval_ns = 0;  // 0: none seen
  uint64_t last_ns = 0;                // latest update (eviction order)
  void addGoaway(const Goaway& g);
  void merge(const ClientPings& other);
};

struct WorkerStats {
  std::array<HopStats, 2> hops;                  // by Hop
  std::unordered_map<std::string, MethodStats> methods;
  MethodStats other_methods;                     // beyond the label cap
  uint64_t streams_opened = 0;
  uint64_t streams_closed = 0;
  uint64_t calls_started = 0;
  uint64_t calls_finished = 0;
  std::array<uint64_t, kGrpcStatusCount> by_status{};
  Histogram call_duration{HistogramUnit::kSeconds};
  Histogram proxy_time{HistogramUnit::kSeconds};     // time the calls spent inside grpcscope
  Histogram upstream_time{HistogramUnit::kSeconds};  // request headers out -> trailers back
  Histogram response_headers_time{HistogramUnit::kSeconds};  // call start -> response headers to the client
  Histogram message_transfer{HistogramUnit::kSeconds};       // first to last byte of one message
  static constexpr size_t kMaxViolationKinds = 16;  // the relay's own names; bounded all the same
  static constexpr size_t kMaxCauses = 32;
  static constexpr size_t kMaxCauseBytes = 256;
  static constexpr size_t kMaxClients = 1024;

  BoundedCounts violations{kMaxViolationKinds, 64};
  uint64_t upstream_failures = 0;
  BoundedCounts upstream_failure_causes{kMaxCauses, kMaxCauseBytes};  // the rest under "other"
  std::unordered_map<std::string, ClientChurn> churn;       // at most kMaxClients per worker
  uint64_t tap_dropped = 0;
  Histogram loop_lag{HistogramUnit::kSeconds};  // how late each tick ran: its interval beyond tick_ms (proxy.overhead)
  // Keepalive per client address (cumulative, times inside): at most kMaxClients per worker.
  std::unordered_map<std::string, ClientPings> pings_by_client;

  // A copy without the per-method and per-client parts (cheap: for rates).
  WorkerStats totalsOnly() const;
  // Adds `other`; methods beyond max_methods (by calls started) fold into other_methods.
  void merge(const WorkerStats& other);
  void capMethods(size_t max_methods);
  // Leaves what happened since `earlier`, this worker's (or merge's) earlier
  // copy: counters and histograms become the window's. Methods absent from
  // `earlier` are whole; per-client churn is already the last 10 s and stays, per-client
  // pings are cumulative with their times and stay too.
  void subtract(const WorkerStats& earlier);
};

}  // namespace grpcscope
