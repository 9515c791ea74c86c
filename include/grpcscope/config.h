// The whole runtime configuration of grpcscope: what the CLI flags and the
// YAML file (--config) produce. Every flag has a config key; flags win over
// the file. Durations are kept in milliseconds, sizes in bytes.
#pragma once

#include <cstdint>
#include <string>

namespace grpcscope {

struct HostPort {
  std::string host;
  uint16_t port = 0;

  std::string toString() const;  // "host:port", IPv6 hosts in brackets
};

// TLS termination toward clients (docs/architecture.md "TLS"). Empty cert_file: h2c listener.
struct ListenerTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // non-empty: require and verify client certificates
  // Session tickets: a new ticket key this often (tickets under the previous
  // key still resume, and are renewed); 0 turns tickets off.
  uint32_t ticket_rotation_ms = 3'600'000;
  bool enabled() const { return !cert_file.empty(); }
};

// TLS origination toward the server. Verification is on unless a CA file says otherwise.
struct UpstreamTlsConfig {
  bool enabled = false;
  std::string ca_file;  // empty: the system trust store
  std::string sni;      // empty: the upstream host name when it is not an address
  std::string cert_file;
  std::string key_file;
};

struct TimeoutConfig {
  uint32_t handshake_ms = 10'000;         // client connection preface + SETTINGS must arrive within
  uint32_t idle_ms = 0;                   // close a connection with no open stream after this; 0: never
  uint32_t upstream_connect_ms = 5'000;   // TCP connect + the server's SETTINGS
  uint32_t drain_ms = 15'000;             // SIGTERM/SIGINT: in-flight streams may finish until then
};

// Reconnection to an unreachable upstream: after a failure, new connections
// fail fast with UNAVAILABLE until the backoff has passed (no connect storm).
struct BackoffConfig {
  uint32_t initial_ms = 100;
  uint32_t max_ms = 10'000;
  double multiplier = 1.6;  // gRPC's connection backoff defaults (doc/connection-backoff.md)
  double jitter = 0.2;
};

// Buffer and window bounds: what one connection may make the proxy hold.
struct LimitConfig {
  uint32_t max_stream_window = 16u << 20;       // cap on a stream window offered to a peer
  uint32_t max_connection_window = 16u << 20;   // cap on a connection window offered to a peer
  // Bytes of one connection's streams, per direction, held here with their
  // connection window already returned to the sender (so that a stream whose
  // reader is slow blocks only itself). One stream window at the cap.
  uint32_t max_connection_buffer = 16u << 20;
  uint32_t write_high_water = 1u << 20;         // pending bytes toward one socket before reading the other leg pauses
  uint32_t max_header_list_size = 64u << 10;    // larger header lists close the connection (ENHANCE_YOUR_CALM)
  uint32_t max_concurrent_streams = 1000;       // offered to clients when the server sets no limit
  uint32_t max_outstanding_pings = 16;          // relayed PINGs awaiting an ACK; more is a flood
  uint32_t max_settings_entries = 32;           // entries in one SETTINGS frame (nghttp2 flood guard)
  uint32_t max_outbound_ack = 1000;             // queued SETTINGS/PING ACKs before the peer counts as flooding
  uint32_t reset_burst = 1000;                  // RST_STREAM rapid-reset limit: burst ...
  uint32_t reset_rate = 33;                     // ... and tokens per second (nghttp2 defaults)
};

// The measurement side (docs/architecture.md "Measurement").
struct AnalysisConfig {
  bool enabled = true;               // false: relay only, no statistics (the benchmark's baseline)
  std::string descriptor_set;        // protoc --descriptor_set_out file: field names in wire reports
  uint32_t max_methods = 200;        // distinct grpc_method labels; further methods count as "other"
  uint32_t tick_ms = 1'000;          // TCP_INFO sampling period; 0: never
  uint32_t wire_sample_every = 16;   // protobuf wire analysis of 1 message in N per method and direction; 0: off
  uint32_t wire_sample_max = 64u << 10;  // larger messages are not analysed (bounded cost)
  uint32_t max_connections_listed = 1000;  // /api/connections lists at most this many
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

struct Config {
  HostPort listen;
  HostPort upstream;
  HostPort admin{"127.0.0.1", 9901};
  int workers = 1;
  LogLevel log_level = LogLevel::kInfo;
  ListenerTlsConfig tls;
  UpstreamTlsConfig upstream_tls;
  TimeoutConfig timeouts;
  BackoffConfig backoff;
  LimitConfig limits;
  AnalysisConfig analysis;
};

}  // namespace grpcscope
