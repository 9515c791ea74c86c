// One client connection and the one upstream connection made for it (1:1),
// relayed frame by frame. The downstream leg runs an nghttp2 server session,
// the upstream leg a client session; every frame one peer sends is re-created
// on the other leg with the same meaning (docs/architecture.md).
//
// Re-entrancy (docs/architecture.md "One flush per loop callback"): nghttp2 callbacks only submit frames and mark
// work; one flush() at the end of each loop callback runs mem_send on both
// sessions until neither has more to say, then writes once per socket.
#pragma once

#include <uv.h>
#include <nghttp2/nghttp2.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <grpcscope/config.h>
#include <grpcscope/observer.h>

#include "proxy/header_block.h"
#include "proxy/shutdown_notice_filter.h"
#include "proxy/stream_relay.h"
#include "proxy/transport.h"
#include "proxy/upstream_backoff.h"

namespace grpcscope {

class ConnectionRelay;
class TlsContext;
struct TlsFacts;

// What the worker shares with all its relays.
struct RelayContext {
  uv_loop_t* loop = nullptr;
  const Config* config = nullptr;
  Observer* observer = nullptr;
  uint32_t worker_id = 0;
  UpstreamBackoff* backoff = nullptr;
  nghttp2_option* server_options = nullptr;  // downstream sessions
  nghttp2_option* client_options = nullptr;  // upstream sessions
  TlsContext* upstream_tls = nullptr;         // set: originate TLS toward the server
  // Called once, from a loop callback, when the relay has released every
  // handle; the owner deletes it.
  std::function<void(ConnectionRelay*)> retire;
  // Tests: make the upstream transport instead of connecting over TCP.
  std::function<std::unique_ptr<Transport>()> upstream_factory;
};

class ConnectionRelay {
 public:
  ConnectionRelay(RelayContext& ctx, uint64_t id, std::unique_ptr<Transport> downstream);

  ~ConnectionRelay();
  ConnectionRelay(const ConnectionRelay&) = delete;
  ConnectionRelay& operator=(const ConnectionRelay&) = delete;

  // Begins the upstream connection; the client is read once it is ready.
  void start();
  // SIGTERM/SIGINT: GOAWAY to the client, finish in-flight streams, close.
  void drain();
  // Drain timeout passed: close both legs now.
  void abort();

  uint64_t id() const { return id_; }
  // Windows and buffers as nghttp2 holds them now (admin snapshots; loop thread).
  LiveConnectionFacts liveFacts() const;
  size_t liveStreams() const { return streams_.size(); }

  // One leg: a transport and the nghttp2 session speaking over it.
  class Leg final : public TransportHandler {
   public:
    Leg(ConnectionRelay* relay, Hop hop) : relay_(relay), hop_(hop) {}
    void onTransportData(const uint8_t* data, size_t len) override;
    void onTransportEnd(bool reset, std::string_view cause) override;
    void onTransportDrained() override;
    void onTransportClosed() override;

    ConnectionRelay* relay_;
    Hop hop_;
    std::unique_ptr<Transport> transport;
    bool transport_open = false;  // created and not yet closed (handle accounting)
    bool ended = false;           // EOF or socket error seen
    nghttp2_session* session = nullptr;
    HeaderBlock incoming;          // the header block being received
    uint64_t streams = 0;
    // Flow-control accounting of the bytes this leg's peer sent that wait in
    // stream queues for the other leg (docs/architecture.md "The backpressure
    // chain"): their stream window is returned when the other leg takes them,
    // their connection window at once, within --max-connection-buffer.
    size_t buffered = 0;
    size_t connection_owed = 0;  // of `buffered`, bytes whose connection window is not yet returned

    // PINGs relayed to this leg's peer, awaiting its ACK (RTT measured on this hop).
    struct PendingPing {
      uint64_t opaque;
      uint64_t sent_ns;       // when it left (until then: when it was queued)
      uint64_t wire_end = 0;  // transport bytesQueued() once its bytes were queued
      bool queued = false;
      bool written = false;
    };
    std::vector<PendingPing> pings;

    // SETTINGS values last offered to this leg's peer (to relay only changes).
    std::array<uint32_t, 7> offered{};
    std::array<bool, 7> offered_set{};
    uint32_t goaway_sent_code = kNoReset;
    // Frames leave in the order their originals arrived (RFC 9113 section
    // 5.1 says nothing of it, but peers read meaning into it: a PING right
    // after a GOAWAY is the server's shutdown round trip). nghttp2 sends
    // PINGs ahead of a GOAWAY submitted earlier, so relayed PINGs wait here
    // while a GOAWAY submitted to this leg is not yet serialized.
    int goaways_unsent = 0;
    struct HeldPing {
      uint8_t flags;
      uint8_t opaque[8];
    };
    std::vector<HeldPing> held_pings;
    bool violation_reported = false;
    // Rapid-reset guard (CVE-2023-44487): a token bucket over RST_STREAM received.
    double reset_tokens = -1;  // -1: not started
    uint64_t reset_refill_ns = 0;
    ConnectionRef ref() const;
  };

  // Reports a finished TLS handshake on one leg to the observer.
  void emitTlsHandshake(Leg& leg, const TlsFacts& facts);
  Leg& downstreamLeg() { return downstream_; }

  // nghttp2 callbacks (through the static trampolines in h2_callbacks.cc).
  int onBeginHeaders(Leg& leg, const nghttp2_frame* frame);
  int onHeader(Leg& leg, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
               const uint8_t* value, size_t valuelen, uint8_t flags);
  int onFrameRecv(Leg& leg, const nghttp2_frame* frame);
  int onDataChunkRecv(Leg& leg, uint8_t flags, int32_t stream_id, const uint8_t* data, size_t len);
  int onStreamClose(Leg& leg, int32_t stream_id, uint32_t error_code);
  int onFrameSend(Leg& leg, const nghttp2_frame* frame);
  int onFrameNotSend(Leg& leg, const nghttp2_frame* frame, int lib_error);
  int onInvalidFrameRecv(Leg& leg, const nghttp2_frame* frame, int lib_error);
  ssize_t readForLeg(Leg& leg, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* data_flags,
                     StreamRelay* sr);

 private:
  enum class State { kConnecting, kUpstreamHandshake, kRelaying, kUpstreamFailed, kClosing };

  // The upstream connection (relay_upstream.cc).
  void connectUpstream();
  void resolveAndConnect();
  void connectToNext();
  void onUpstreamConnect(int status, const std::string& address);
  void attachUpstream(uint64_t setup_ns);
  void startUpstreamTls(uint64_t tcp_ns);
  void onUpstreamReady(const nghttp2_settings& settings);
  void onUpstreamFailed(const std::string& cause, bool count_for_backoff);

  // Lifecycle (connection_relay.cc).
  void startDownstream(const nghttp2_settings_entry* iv, size_t niv);
  void onLegData(Leg& leg, const uint8_t* data, size_t len);
  bool receive(Leg& leg, const uint8_t* data, size_t len);
  void onShutdownNotice(std::string_view frame, std::string_view debug_data);
  void onLegEnd(Leg& leg, bool reset, std::string_view cause);
  void onLegClosed(Leg& leg);
  void onLegDrained(Leg& leg);
  void failConnection(Leg& leg, uint32_t error_code, std::string_view kind, CloseReason reason);
  void closeLeg(Leg& leg, bool graceful, CloseReason reason, std::string_view detail);
  void flush();
  bool pump(Leg& leg, bool past_high_water = false);
  void updateReading();
  void checkFinished();
  void armTimer();
  static void onTimer(uv_timer_t* timer);
  static void onTimerClosed(uv_handle_t* handle);
  void maybeRetire();
  Leg& other(Leg& leg) { return leg.hop_ == Hop::kDownstream ? upstream_ : downstream_; }

  // Streams (relay_streams.cc).
  StreamRelay* streamFor(Leg& leg, int32_t stream_id);
  void onRequestHeaders(Leg& leg, int32_t stream_id, bool end_stream);
  void onResponseHeaders(Leg& leg, int32_t stream_id, bool end_stream, bool trailers);
  void answerLocally(StreamRelay& sr, int grpc_status, std::string_view message);
  void failUpstreamStreams(std::string_view cause);
  void releaseStream(StreamRelay& sr);
  void holdFrom(Leg& from, size_t len);
  void releaseFrom(Leg& from, int32_t stream_id, size_t n);
  void returnConnectionWindow(Leg& from);
  // liveFacts: the leg's streams with the most bytes waiting for its peer.
  void busiestStreams(const Leg& leg, LiveLegFacts* out) const;
  void resumeTowards(Hop hop, StreamRelay& sr);
  void checkFlowBlocked();

  // Control frames (relay_control.cc).
  void onSettingsRecv(Leg& leg, const nghttp2_settings& settings);
  void offerSettings(Leg& to, const nghttp2_settings_entry* iv, size_t niv);
  size_t mirrorableSettings(Hop from, const nghttp2_settings& settings, nghttp2_settings_entry* iv);
  void onPingRecv(Leg& leg, const nghttp2_ping& ping);
  void submitPing(Leg& to, uint8_t flags, const uint8_t opaque[8]);
  void onGoawaySerialized(Leg& leg);
  void onGoawayRecv(Leg& leg, const nghttp2_goaway& goaway);
  void onRstStreamRecv(Leg& leg, const nghttp2_rst_stream& rst);
  bool resetFlood(Leg& leg);
  void onWindowUpdateRecv(Leg& leg, const nghttp2_window_update& wu);
  void mirrorWindow(Leg& from, int32_t from_stream, Leg& to, int32_t to_stream);
  void submitGoaway(Leg& leg, uint32_t error_code, std::string_view debug);
  int32_t downstreamLastStreamFor(int32_t upstream_last);
  void emitSettings(Leg& leg, Direction dir, bool ack, const nghttp2_settings_entry* iv, size_t niv);

  // Upstream input passes through this before nghttp2 (shutdown_notice_filter.h).
  class UpstreamInput;
  ShutdownNoticeFilter notice_filter_;

  RelayContext& ctx_;
  const Config& config_;
  Observer& observer_;
  uint64_t id_;
  State state_ = State::kConnecting;
  Leg downstream_{this, Hop::kDownstream};
  Leg upstream_{this, Hop::kUpstream};
  std::unordered_map<int32_t, std::unique_ptr<StreamRelay>> streams_;  // by downstream id
  int32_t last_down_id_submitted_ = 0;
  std::string upstream_failure_;   // cause, once the upstream failed or went away
  bool upstream_gone_ = false;     // upstream closed after it was ready
  bool draining_ = false;
  bool client_preface_seen_ = false;
  bool answered_any_locally_ = false;
  bool in_flush_ = false;
  bool flush_again_ = false;
  bool retired_ = false;
  bool goaway_after_answer_ = false;  // upstream failed: GOAWAY once the first calls are answered
  bool upstream_goaway_received_ = false;
  int32_t last_up_id_submitted_ = 0;
  std::vector<HeaderField> sent_fields_;  // scratch for sent-HEADERS events
  CloseReason down_close_reason_ = CloseReason::kPeerClosed;
  std::string down_close_detail_;
  CloseReason up_close_reason_ = CloseReason::kPeerClosed;
  std::string up_close_detail_;

  // Deadlines (uv_hrtime ns; 0: none) served by one timer.
  uv_timer_t timer_;
  bool timer_open_ = false;
  uint64_t handshake_deadline_ = 0;
  uint64_t upstream_deadline_ = 0;
  uint64_t idle_deadline_ = 0;
  uint64_t linger_deadline_ = 0;

  // Upstream connect in progress.
  UpstreamBackoff::Ticket backoff_ticket_;  // this relay's attempt, until its verdict
  std::vector<sockaddr_storage> upstream_addrs_;  // resolved, tried in order (gRPC pick_first)
  size_t upstream_addr_next_ = 0;
  std::string upstream_addrs_tried_;  // "[::1]:50051: connection refused, ..." for the cause
  uv_getaddrinfo_t dns_req_;
  bool dns_pending_ = false;
  uint64_t connect_started_ns_ = 0;
  uint64_t upstream_setup_ns_ = 0;
  uint64_t dns_ns_ = 0;
  size_t bufferedBytes() const { return downstream_.buffered + upstream_.buffered; }
  size_t blocked_streams_ = 0; // stream-hops currently blocked by a peer window
};

}  // namespace grpcscope
