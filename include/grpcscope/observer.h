// What the relay reports to the analysis: plain event structs, delivered
// synchronously on the worker's loop thread. Views (string_view, spans) are
// valid only for the duration of the call: an observer that keeps anything
// copies it. Observers must do O(1) work and must not block; a null observer
// (the default implementation of every hook) must always work.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace grpcscope {

// downstream is always the client leg, upstream the server leg.
enum class Hop : uint8_t { kDownstream, kUpstream };
// Relative to the proxy: a frame it received from, or sent to, that hop's peer.
enum class Direction : uint8_t { kReceived, kSent };

const char* hopName(Hop hop);
const char* directionName(Direction direction);

struct ConnectionRef {
  uint32_t worker = 0;
  uint64_t id = 0;  // shared by both legs of one relayed connection
  Hop hop = Hop::kDownstream;
};

struct ConnectionOpenEvent {
  ConnectionRef conn;
  uint64_t at_ns = 0;        // uv_hrtime() clock
  int fd = -1;               // the socket, valid until this leg's close event (TCP_INFO)
  std::string_view peer;     // "ip:port" of the remote end
  std::string_view local;    // "ip:port" of our end
  uint64_t setup_ns = 0;     // upstream: name resolution + TCP connect; downstream: 0
  uint64_t dns_ns = 0;       // upstream: the name resolution part (0 for an address literal)
};

// Why a leg closed. kUpstreamFailed covers refused/unreachable/timed out.
enum class CloseReason : uint8_t {
  kPeerClosed,       // orderly EOF
  kPeerReset,        // ECONNRESET and other socket errors
  kProtocolError,    // the peer broke HTTP/2 (GOAWAY with an error code sent)
  kFlood,            // a flood limit tripped (GOAWAY ENHANCE_YOUR_CALM sent)
  kTimeout,          // handshake or idle timeout
  kUpstreamFailed,   // could not connect / handshake to the server
  kOtherLegClosed,   // the paired leg went away
  kShutdown,         // drain on SIGTERM/SIGINT
};
const char* closeReasonName(CloseReason reason);

struct ConnectionCloseEvent {
  ConnectionRef conn;
  uint64_t at_ns = 0;
  CloseReason reason = CloseReason::kPeerClosed;
  std::string_view detail;   // human-readable cause ("connection refused")
  uint64_t streams = 0;      // streams this leg carried
  uint64_t bytes_in = 0;     // bytes read from the socket
  uint64_t bytes_out = 0;    // bytes written to the socket
};

// HTTP/2 SETTINGS identifiers as in RFC 9113 section 6.5.2.
struct SettingEntry {
  uint16_t id = 0;
  uint32_t value = 0;
};

struct SettingsEvent {
  ConnectionRef conn;
  Direction direction = Direction::kReceived;
  bool ack = false;
  const SettingEntry* entries = nullptr;
  size_t count = 0;
};

struct StreamEvent {
  ConnectionRef conn;
  int32_t stream_id = 0;     // the id on this hop
  uint64_t at_ns = 0;
};

// A client stream was opened upstream: the ids of one call on the two hops.
struct StreamMapEvent {
  ConnectionRef conn;        // the downstream leg
  int32_t downstream_id = 0;
  int32_t upstream_id = 0;
};

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

struct HeadersEvent {
  ConnectionRef conn;
  Direction direction = Direction::kReceived;
  int32_t stream_id = 0;
  uint64_t at_ns = 0;
  const HeaderField* fields = nullptr;
  size_t count = 0;
  bool trailers = false;     // the second header block of a stream
  bool end_stream = false;
};

struct DataEvent {
  ConnectionRef conn;
  Direction direction = Direction::kReceived;
  int32_t stream_id = 0;
  uint64_t at_ns = 0;
  size_t length = 0;         // payload bytes in this frame (or chunk, for received data)
  bool end_stream = false;
  // Received data only: the payload bytes of this chunk (a DATA frame may
  // arrive in several chunks). Never logged; the analysis samples it.
  // A received DATA frame that ends the stream is reported once more after
  // its chunks, with length 0 and end_stream set.
  const uint8_t* bytes = nullptr;
};

struct RstStreamEvent {
  ConnectionRef conn;
  Direction direction = Direction::kReceived;
  int32_t stream_id = 0;
  uint32_t error_code = 0;
};

struct StreamCloseEvent {
  ConnectionRef conn;
  int32_t stream_id = 0;
  uint64_t at_ns = 0;
  uint32_t error_code = 0;   // nghttp2's close code (0 when ended normally)
};

struct WindowUpdateEvent {
  ConnectionRef conn;
  Direction direction = Direction::kReceived;
  int32_t stream_id = 0;     // 0: the connection window
  uint32_t increment = 0;
};

// The relay had bytes for a peer but the peer's flow-control window was
// closed (blocked), and later reopened (unblocked, with the blocked time).
struct FlowControlEvent {
  ConnectionRef conn;
  int32_t stream_id = 0;     // 0: the connection window
  uint64_t at_ns = 0;
  bool blocked = true;
  bool connection_window = false;  // blocked events: the connection window was closed (not only the stream's)
  uint64_t blocked_ns = 0;   // unblocked events: how long it was blocked
  size_t pending_bytes = 0;  // bytes waiting when it changed state
};

struct PingEvent {
  ConnectionRef conn;
  Direction direction = Direction::kReceived;
  bool ack = false;
  uint64_t opaque = 0;
  uint64_t at_ns = 0;
  uint64_t rtt_ns = 0;       // on a received ACK of a PING the proxy relayed to this hop
};

struct GoawayEvent {
  ConnectionRef conn;
  Direction direction = Direction::kReceived;
  int32_t last_stream_id = 0;
  uint32_t error_code = 0;
  std::string_view debug_data;
};

// A flood or protocol limit tripped on one connection.
struct ViolationEvent {
  ConnectionRef conn;
  std::string_view kind;     // "settings_flood", "ping_flood", "rapid_reset", "header_list_too_large", "protocol"
  uint32_t error_code = 0;   // the GOAWAY code sent
};

// A call the proxy answered itself because the upstream could not be used.
struct UpstreamFailureEvent {
  ConnectionRef conn;        // the downstream connection
  int32_t stream_id = 0;     // 0: the connection as a whole
  std::string_view cause;    // the grpc-message sent
};

// A TLS handshake finished on one leg.
struct TlsHandshakeEvent {
  ConnectionRef conn;
  uint64_t at_ns = 0;
  uint64_t handshake_ns = 0;   // first handshake byte to Finished
  std::string_view version;    // "TLSv1.3"
  std::string_view cipher;
  std::string_view group;
  std::string_view alpn;       // "" when none was negotiated (served h2 by prior knowledge)
  std::string_view sni;
  bool resumed = false;
  std::string_view peer_subject;
  std::string_view peer_issuer;
  int64_t peer_days_left = 0;
  // Phases, each measured from the start of the handshake (0: not seen).
  uint64_t client_hello_ns = 0;
  uint64_t server_hello_ns = 0;
  uint64_t certificate_ns = 0;
  uint64_t verify_ns = 0;      // time spent verifying the peer's chain
  // Downstream only: what the client offered in its ClientHello.
  std::string_view offered_sni;
  std::string_view offered_alpn;      // comma-separated
  std::string_view offered_versions;  // comma-separated, e.g. "772,771"
  size_t offered_ciphers = 0;
  std::string_view offered_groups;    // comma-separated group ids
  std::string_view ja3;               // JA3 string
  std::string_view ja3_md5;           // client fingerprint
};

// What only the relay knows about a live connection (its nghttp2 windows and
// buffers), read on the worker's loop thread when the admin side asks.
// A stream of one leg as the page's flow-control chart shows it.
struct LiveStreamWindow {
  int32_t stream_id = 0;       // on that leg's session
  int32_t send_window = 0;     // bytes we may still send on the stream
  uint64_t queued = 0;         // relayed bytes waiting to go to that leg's peer
};

struct LiveLegFacts {
  bool open = false;
  int32_t remote_window = 0;   // bytes we may still send on the connection
  int32_t local_window = 0;    // bytes the peer may still send us
  uint32_t open_streams = 0;
  uint64_t pending_output = 0; // bytes queued toward the socket
  // The streams with the most bytes waiting for this leg's peer (then the
  // smallest send windows): what holds a connection back.
  static constexpr size_t kBusiestStreams = 4;
  std::array<LiveStreamWindow, kBusiestStreams> busiest{};
  uint8_t busiest_count = 0;
};

struct LiveConnectionFacts {
  uint64_t id = 0;
  uint64_t buffered_bytes = 0; // relayed bytes held for the other leg (all streams)
  LiveLegFacts legs[2];        // indexed by Hop
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void onConnectionOpen(const ConnectionOpenEvent&) {}
  virtual void onConnectionClose(const ConnectionCloseEvent&) {}
  virtual void onSettings(const SettingsEvent&) {}
  virtual void onStreamOpen(const StreamEvent&) {}
  virtual void onStreamMapped(const StreamMapEvent&) {}
  virtual void onHeaders(const HeadersEvent&) {}
  virtual void onData(const DataEvent&) {}
  virtual void onRstStream(const RstStreamEvent&) {}
  virtual void onStreamClose(const StreamCloseEvent&) {}
  virtual void onWindowUpdate(const WindowUpdateEvent&) {}
  virtual void onFlowControl(const FlowControlEvent&) {}
  virtual void onPing(const PingEvent&) {}
  virtual void onGoaway(const GoawayEvent&) {}
  virtual void onViolation(const ViolationEvent&) {}
  virtual void onUpstreamFailure(const UpstreamFailureEvent&) {}
  virtual void onTlsHandshake(const TlsHandshakeEvent&) {}
  // The worker's periodic timer (config analysis.tick), for sampling such as
  // TCP_INFO; not called when the interval is 0.
  virtual void onTick(uint64_t now_ns) {}
};

}  // namespace grpcscope
