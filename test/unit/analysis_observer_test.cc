// AnalysisObserver fed with relay events by hand: how a call's status is
// decided when there are no trailers, stalls, the method cap, churn and the
// event tap.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analysis/analysis_observer.h"
#include "analysis/grpc_codes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace grpcscope {
namespace {

class AnalysisObserverTest : public ::testing::Test {
 protected:
  AnalysisObserverTest() : tap_(1), obs_(0, config(), 0, &tap_) {}

  static AnalysisConfig config() {
    AnalysisConfig c;
    c.max_methods = 2;
    return c;
  }

  ConnectionRef ref(Hop hop, uint64_t id = 1) { return {0, id, hop}; }

  void open(uint64_t id = 1, std::string_view peer = "10.0.0.7:5555") {
    ConnectionOpenEvent d;
    d.conn = ref(Hop::kDownstream, id);
    d.peer = peer;
    d.at_ns = 1'000'000'000;
    obs_.onConnectionOpen(d);
    ConnectionOpenEvent u;
    u.conn = ref(Hop::kUpstream, id);
    u.setup_ns = 200'000;
    obs_.onConnectionOpen(u);
  }

  void request(int32_t sid, std::string_view path, uint64_t id = 1, uint64_t at = 2'000'000'000) {
    StreamEvent s{ref(Hop::kDownstream, id), sid, at};
    obs_.onStreamOpen(s);
    HeaderField fields[] = {{":path", path}, {"content-type", "application/grpc"}, {"authorization", "Bearer x"}};
    HeadersEvent h;
    h.conn = ref(Hop::kDownstream, id);
    h.stream_id = sid;
    h.at_ns = at;
    h.fields = fields;
    h.count = 3;
    obs_.onHeaders(h);
    obs_.onStreamMapped({ref(Hop::kDownstream, id), sid, sid + 100});
  }

  void close(int32_t sid, uint32_t code = 0, uint64_t id = 1, uint64_t at = 3'000'000'000) {
    obs_.onStreamClose({ref(Hop::kDownstream, id), sid, at, code});
  }

  WorkerStats stats() { return obs_.snapshot(true, false, 0).stats; }

  EventTap tap_;
  AnalysisObserver obs_;
};

TEST_F(AnalysisObserverTest, ClientResetIsCancelledAndNamesWhoReset) {
  tap_.addSubscriber();
  open();
  request(1, "/pkg.Svc/A");
  obs_.onRstStream({ref(Hop::kDownstream), Direction::kReceived, 1, 0x8});
  close(1, 0x8);
  WorkerStats s = stats();
  EXPECT_EQ(s.by_status[1], 1u);  // CANCELLED
  std::vector<std::string> events;
  tap_.drain(events);
  ASSERT_EQ(events.size(), 1u);
  nlohmann::json e = nlohmann::json::parse(events[0]);
  EXPECT_EQ(e["status"], "CANCELLED");
  EXPECT_EQ(e["status_source"], "reset");
  EXPECT_EQ(e["reset"]["by"], "client");
  EXPECT_EQ(e["reset"]["code"], "CANCEL");
  EXPECT_DOUBLE_EQ(e["duration_s"].get<double>(), 1.0);
  EXPECT_EQ(events[0].find("Bearer"), std::string::npos);
}

TEST_F(AnalysisObserverTest, ServerResetRelayedIsNamedServer) {
  tap_.addSubscriber();
  open();
  request(1, "/pkg.Svc/A");
  obs_.onRstStream({ref(Hop::kUpstream), Direction::kReceived, 101, 0xb});
  obs_.onRstStream({ref(Hop::kDownstream), Direction::kSent, 1, 0xb});
  close(1);
  EXPECT_EQ(stats().by_status[8], 1u);  // ENHANCE_YOUR_CALM -> RESOURCE_EXHAUSTED
  std::vector<std::string> events;
  tap_.drain(events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(events[0])["reset"]["by"], "server");
}

TEST_F(AnalysisObserverTest, TrailersSentToTheClientDecideTheStatus) {
  open();
  request(1, "/pkg.Svc/A");
  HeaderField trailers[] = {{"grpc-status", "14"}, {"grpc-message", "upstream down"}};
  HeadersEvent h;
  h.conn = ref(Hop::kDownstream);
  h.direction = Direction::kSent;
  h.stream_id = 1;
  h.fields = trailers;
  h.count = 2;
  h.end_stream = true;
  obs_.onUpstreamFailure({ref(Hop::kDownstream), 1, "upstream down"});
  obs_.onHeaders(h);
  close(1);
  WorkerStats s = stats();
  EXPECT_EQ(s.by_status[14], 1u);
  EXPECT_EQ(s.upstream_failures, 1u);
  EXPECT_EQ(s.upstream_failure_causes.count("upstream down"), 1u);
}

TEST_F(AnalysisObserverTest, ConnectionLostMidCallIsUnavailable) {
  open();
  request(1, "/pkg.Svc/A");
  request(3, "/pkg.Svc/A");
  ConnectionCloseEvent c;
  c.conn = ref(Hop::kDownstream);
  c.at_ns = 5'000'000'000;
  c.reason = CloseReason::kPeerReset;
  obs_.onConnectionClose(c);
  WorkerStats s = stats();
  EXPECT_EQ(s.calls_finished, 2u);
  EXPECT_EQ(s.by_status[14], 2u);
  EXPECT_EQ(s.hops[0].close_reasons[static_cast<size_t>(CloseReason::kPeerReset)], 1u);
  EXPECT_EQ(obs_.snapshot(true, false, 0).active_calls, 0u);
}

TEST_F(AnalysisObserverTest, StallStillOpenAtTheEndCountsUntilTheEnd) {
  open();
  request(1, "/pkg.Svc/A");
  FlowControlEvent b;
  b.conn = ref(Hop::kDownstream);
  b.stream_id = 1;
  b.at_ns = 2'500'000'000;
  b.blocked = true;
  obs_.onFlowControl(b);
  close(1);  // at 3 s: half a second blocked
  FlowControlEvent u = b;
  u.blocked = false;
  u.at_ns = 3'100'000'000;
  u.blocked_ns = 600'000'000;
  obs_.onFlowControl(u);  // the relay reports the end after the close
  WorkerStats s = stats();
  EXPECT_EQ(s.hops[0].stalls, 1u);
  EXPECT_EQ(s.hops[0].connection_stalls, 0u);  // the stream's window only
  EXPECT_EQ(s.methods["pkg.Svc/A"].stalls, 1u);
  EXPECT_EQ(s.methods["pkg.Svc/A"].stall_ns, 500'000'000u);
  EXPECT_EQ(s.hops[0].stall_ns, 600'000'000u);
}

TEST_F(AnalysisObserverTest, StallsOnTheConnectionWindowAreCountedApart) {
  open();
  request(1, "/pkg.Svc/A");
  FlowControlEvent b;
  b.conn = ref(Hop::kUpstream);
  b.stream_id = 101;
  b.at_ns = 2'100'000'000;
  b.blocked = true;
  b.connection_window = true;
  obs_.onFlowControl(b);
  WorkerStats s = stats();
  EXPECT_EQ(s.hops[1].stalls, 1u);
  EXPECT_EQ(s.hops[1].connection_stalls, 1u);
  EXPECT_EQ(s.methods["pkg.Svc/A"].stalls, 1u);  // the upstream stream id found its call
}

// HopStats::send_active_ns: gaps between DATA frames sent on a leg count up
// to 200 ms, and any gap while a stream waited on the peer's window.
TEST_F(AnalysisObserverTest, SendActiveTimeCountsShortGapsAndWaits) {
  open();
  request(1, "/pkg.Svc/A");
  auto sent = [&](uint64_t at) {
    DataEvent d;
    d.conn = ref(Hop::kUpstream);
    d.direction = Direction::kSent;
    d.stream_id = 101;
    d.at_ns = at;
    d.length = 16384;
    obs_.onData(d);
  };
  sent(2'000'000'000);
  sent(2'100'000'000);  // +100 ms: sending
  sent(3'100'000'000);  // +1 s, nothing waited: the source was idle
  FlowControlEvent b;
  b.conn = ref(Hop::kUpstream);
  b.stream_id = 101;
  b.at_ns = 3'100'000'000;
  b.blocked = true;
  obs_.onFlowControl(b);
  FlowControlEvent u = b;
  u.blocked = false;
  u.at_ns = 3'600'000'000;
  u.blocked_ns = 500'000'000;
  obs_.onFlowControl(u);
  sent(3'600'000'000);  // +500 ms, waited on the window: sending time
  WorkerStats s = stats();
  EXPECT_EQ(s.hops[1].send_active_ns, 600'000'000u);
  EXPECT_EQ(s.hops[1].data_bytes[1], 4u * 16384);
  EXPECT_EQ(s.hops[1].stall_ns, 500'000'000u);
}

// HopStats::large_message_rtts_*: a 64 KiB request on a reused connection,
// counted after an idle second or when warm, in round trips of the leg's
// TCP minimum RTT (a real loopback socket gives TCP_INFO).
TEST_F(AnalysisObserverTest, LargeMessagesAfterIdleAndWarmAreCountedApart) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::write(client, "x", 1), 1);  // an RTT sample for the kernel
  int server = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(server, 0);
  char byte;
  ASSERT_EQ(::read(server, &byte, 1), 1);
  ASSERT_EQ(::write(server, "y", 1), 1);
  ASSERT_EQ(::read(client, &byte, 1), 1);

  ConnectionOpenEvent d;
  d.conn = ref(Hop::kDownstream);
  d.peer = "10.0.0.7:5555";
  d.fd = client;
  d.at_ns = 1'000'000'000;
  obs_.onConnectionOpen(d);
  obs_.onTick(1'000'000'000);  // TCP_INFO of the downstream leg
  auto call = [&](int32_t sid, uint64_t at) {
    request(sid, "/pkg.Svc/A", 1, at);
    for (int i = 0; i < 4; ++i) {  // 64 KiB in 4 frames over 30 ms
      DataEvent ev;
      ev.conn = ref(Hop::kDownstream);
      ev.stream_id = sid;
      ev.at_ns = at + i * 10'000'000ull;
      ev.length = 16384;
      obs_.onData(ev);
    }
    close(sid, 0, 1, at + 40'000'000ull);
  };
  call(1, 2'000'000'000);   // the connection's first DATA: neither
  call(3, 2'050'000'000);   // 20 ms after the last DATA: warm
  call(5, 3'200'000'000);   // idle 1.12 s: after idle
  call(7, 3'700'000'000);   // idle 470 ms: neither
  WorkerStats s = stats();
  EXPECT_EQ(s.hops[0].large_message_rtts_warm.count(), 1u);
  EXPECT_EQ(s.hops[0].large_message_rtts_after_idle.count(), 1u);
  EXPECT_GT(s.hops[0].large_message_rtts_after_idle.sum(), 1.0) << "30 ms over a loopback RTT is many round trips";
  ::close(client);
  ::close(server);
  ::close(listener);
}

TEST_F(AnalysisObserverTest, MethodsBeyondTheCapCountAsOther) {
  open();
  int32_t sid = 1;
  for (const char* m : {"/a.S/One", "/a.S/Two", "/a.S/Three", "/a.S/Four", "/a.S/One"}) {
    request(sid, m);
    close(sid);
    sid += 2;
  }
  WorkerStats s = stats();
  EXPECT_EQ(s.methods.size(), 2u);
  EXPECT_EQ(s.methods["a.S/One"].started, 2u);
  EXPECT_EQ(s.other_methods.started, 2u);
  EXPECT_EQ(s.calls_started, 5u);
}

TEST_F(AnalysisObserverTest, ChurnCountsConnectionsPerClientAddress) {
  for (uint64_t id = 1; id <= 3; ++id) open(id, "10.0.0.7:" + std::to_string(4000 + id));
  open(4, "[::1]:9");
  WorkerStats s = stats();
  ASSERT_EQ(s.churn.size(), 2u);
  EXPECT_EQ(s.churn["10.0.0.7"].total, 3u);
  EXPECT_EQ(s.churn["10.0.0.7"].recent(1), 3u);
  EXPECT_EQ(s.churn["::1"].total, 1u);
}

TEST_F(AnalysisObserverTest, NoEventIsBuiltWhileNobodyListens) {
  open();
  request(1, "/pkg.Svc/A");
  close(1);
  std::vector<std::string> events;
  tap_.drain(events);
  EXPECT_TRUE(events.empty());
}

// A peer chooses RST_STREAM and GOAWAY codes and GOAWAY debug texts: codes
// outside RFC 9113's registry share one bucket, texts are capped.
TEST_F(AnalysisObserverTest, PeerChosenCodesAndDebugTextsAreBounded) {
  open();
  for (uint32_t i = 0; i < 3000; ++i) {
    obs_.onRstStream({ref(Hop::kDownstream), Direction::kReceived, static_cast<int32_t>(2 * i + 1), 0x100 + i});
    obs_.onRstStream({ref(Hop::kUpstream), Direction::kSent, static_cast<int32_t>(2 * i + 1), 0x100 + i});
  }
  obs_.onRstStream({ref(Hop::kDownstream), Direction::kReceived, 1, 0x8});
  for (uint32_t i = 0; i < 500; ++i) {
    GoawayEvent g;
    g.conn = ref(Hop::kDownstream);
    g.error_code = 0x10000 + i;
    std::string debug = "text " + std::to_string(i) + std::string(200, 'x');
    g.debug_data = debug;
    obs_.onGoaway(g);
  }
  WorkerStats s = stats();
  const HopStats& down = s.hops[0];
  EXPECT_EQ(down.rst[0][kH2UnknownErrorBucket], 3000u);
  EXPECT_EQ(down.rst[0][0x8], 1u);
  EXPECT_EQ(s.hops[1].rst[1][kH2UnknownErrorBucket], 3000u);
  EXPECT_EQ(down.goaway[0][kH2UnknownErrorBucket], 500u);
  EXPECT_EQ(down.goaway_debug.size(), HopStats::kMaxDebug + 1);
  EXPECT_EQ(down.goaway_debug.count("other"), 500u - HopStats::kMaxDebug);
  for (const auto& [text, n] : down.goaway_debug.counts()) EXPECT_LE(text.size(), HopStats::kMaxDebugBytes);
  // Merged workers stay within the same bound.
  WorkerStats merged = s;
  merged.merge(s);
  EXPECT_EQ(merged.hops[0].goaway_debug.size(), HopStats::kMaxDebug + 1);
  EXPECT_EQ(merged.hops[0].rst[0][kH2UnknownErrorBucket], 6000u);
}

// A reset with a code above 2^31 still counts as a reset (it was stored in an int32 once).
TEST_F(AnalysisObserverTest, ResetWithAHugeCodeIsStillAReset) {
  open();
  request(1, "/pkg.Svc/A");
  obs_.onRstStream({ref(Hop::kDownstream), Direction::kReceived, 1, 0xfffffff0u});
  tap_.addSubscriber();
  close(1, 0xfffffff0u);
  WorkerStats s = stats();
  EXPECT_EQ(s.by_status[13], 1u) << "INTERNAL, as gRPC reports an unknown reset code";
  std::vector<std::string> events;
  tap_.drain(events);
  ASSERT_EQ(events.size(), 1u);
  nlohmann::json e = nlohmann::json::parse(events[0]);
  EXPECT_EQ(e["status_source"], "reset");
  EXPECT_EQ(e["reset"]["code"], "unknown");
  EXPECT_EQ(e["reset"]["code_value"], 0xfffffff0u);
}

TEST_F(AnalysisObserverTest, PeerTextsInACallArePrintableAndWithoutCredentials) {
  open();
  StreamEvent st{ref(Hop::kDownstream), 1, 2'000'000'000};
  obs_.onStreamOpen(st);
  std::string bad = "\xff\xfe\x01";
  std::string path = "/pkg.Svc/A" + bad;
  std::string ua = "agent" + bad + std::string(1000, 'u');
  std::string content_type = "application/grpc" + bad;
  HeaderField fields[] = {{":path", path},
                          {":authority", "user:s3cret@host.example"},
                          {"user-agent", ua},
                          {"content-type", content_type}};
  HeadersEvent h;
  h.conn = ref(Hop::kDownstream);
  h.stream_id = 1;
  h.at_ns = 2'000'000'000;
  h.fields = fields;
  h.count = 4;
  obs_.onHeaders(h);
  tap_.addSubscriber();
  close(1);
  WorkerStats s = stats();
  ASSERT_EQ(s.methods.size(), 1u);
  EXPECT_EQ(s.methods.begin()->first, "pkg.Svc/A???");
  std::vector<std::string> events;
  tap_.drain(events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].find("s3cret"), std::string::npos);
  nlohmann::json e = nlohmann::json::parse(events[0]);  // strict UTF-8: throws on a raw byte
  EXPECT_EQ(e["authority"], "host.example");
  EXPECT_EQ(e["content_type"], "application/grpc???");
  EXPECT_EQ(e["user_agent"].get<std::string>().size(), 256u);
  EXPECT_EQ(e["user_agent"].get<std::string>().substr(0, 9), "agent???u");
}

// A method named "other" joins the overflow: the label must not appear twice.
// (A :path without its leading slash is kept whole, so "/other" is "/other".)
TEST_F(AnalysisObserverTest, AMethodNamedOtherJoinsTheOverflow) {
  open();
  request(1, "other");
  request(3, "/pkg.Svc/A");
  WorkerStats s = stats();
  EXPECT_EQ(s.methods.count("other"), 0u);
  EXPECT_EQ(s.other_methods.started, 1u);
  EXPECT_EQ(s.methods.count("pkg.Svc/A"), 1u);
}

TEST_F(AnalysisObserverTest, SettingsIdsAreCappedPerConnection) {
  open();
  std::vector<SettingEntry> entries;
  for (uint16_t id = 1; id <= 1000; ++id) entries.push_back({id, id});
  SettingsEvent ev;
  ev.conn = ref(Hop::kDownstream);
  ev.entries = entries.data();
  ev.count = entries.size();
  obs_.onSettings(ev);
  WorkerSnapshot snap = obs_.snapshot(true, true, 10);
  ASSERT_EQ(snap.connections.size(), 1u);
  const LegView& leg = snap.connections[0].legs[0];
  EXPECT_EQ(leg.settings_received.size(), LegView::kMaxSettingIds);
  EXPECT_EQ(leg.settings_ids_dropped, 1000u - LegView::kMaxSettingIds);
  EXPECT_EQ(leg.settings_received.at(4), 4u) << "the registered ids come first and are kept";
}

TEST_F(AnalysisObserverTest, TlsLabelsAreBounded) {
  open();
  TlsHandshakeEvent t;
  t.conn = ref(Hop::kUpstream);
  t.version = "TLSv1.3";
  t.alpn = "made-up-protocol";
  std::string sni = "\xff" + std::string(5000, 's');
  t.sni = sni;
  obs_.onTlsHandshake(t);
  t.version = "bogus";
  t.alpn = "";
  obs_.onTlsHandshake(t);
  WorkerStats s = stats();
  EXPECT_EQ(s.hops[1].tls_handshakes.count(TlsKey{"TLSv1.3", "other", false}), 1u);
  EXPECT_EQ(s.hops[1].tls_handshakes.count(TlsKey{"other", "none", false}), 1u);
  WorkerSnapshot snap = obs_.snapshot(true, true, 10);
  const TlsView& view = snap.connections[0].legs[1].tls;
  EXPECT_LE(view.sni.size(), 256u);
  EXPECT_EQ(view.sni.front(), '?');
}


// A request with a grpc-timeout (the request() helper sends none).
void requestWithTimeout(AnalysisObserver& obs, ConnectionRef ref, int32_t sid, std::string_view timeout,
                        uint64_t at) {
  obs.onStreamOpen({ref, sid, at});
  HeaderField fields[] = {{":path", "/pkg.Svc/D"}, {"grpc-timeout", timeout}};
  HeadersEvent h;
  h.conn = ref;
  h.stream_id = sid;
  h.at_ns = at;
  h.fields = fields;
  h.count = 2;
  obs.onHeaders(h);
}

TEST_F(AnalysisObserverTest, ClientCancelAtItsDeadlineIsDeadlineExceeded) {
  tap_.addSubscriber();
  open();
  // 100 ms deadline: cancelled after 99 ms (the client started its timer before the proxy saw the call).
  requestWithTimeout(obs_, ref(Hop::kDownstream), 1, "100m", 2'000'000'000);
  obs_.onRstStream({ref(Hop::kDownstream), Direction::kReceived, 1, 0x8});
  close(1, 0x8, 1, 2'099'000'000);
  // 1 s deadline, cancelled after 300 ms: a cancel, not the deadline.
  requestWithTimeout(obs_, ref(Hop::kDownstream), 3, "1S", 3'000'000'000);
  obs_.onRstStream({ref(Hop::kDownstream), Direction::kReceived, 3, 0x8});
  close(3, 0x8, 1, 3'300'000'000);
  WorkerStats s = stats();
  EXPECT_EQ(s.by_status[4], 1u);
  EXPECT_EQ(s.by_status[1], 1u);
  const MethodStats& m = s.methods.at("pkg.Svc/D");
  EXPECT_EQ(m.deadline.count(), 2u);
  EXPECT_EQ(m.deadline_exceeded_deadline.count(), 1u);
  EXPECT_NEAR(m.deadline_exceeded_deadline.quantile(0.5), 0.1, 0.001);
  std::vector<std::string> events;
  tap_.drain(events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(events[0])["status_source"], "deadline");
}

TEST_F(AnalysisObserverTest, ResourceExhaustedForSizeKeepsTheDeclaredSizeAndTheLimit) {
  open();
  request(1, "/pkg.Svc/A");
  // A 5 MiB request message of which only the prefix and a little body arrive.
  const uint32_t len = 5u << 20;
  uint8_t chunk[64] = {0, static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                       static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  DataEvent d;
  d.conn = ref(Hop::kDownstream);
  d.stream_id = 1;
  d.length = sizeof chunk;
  d.bytes = chunk;
  obs_.onData(d);
  HeaderField trailers[] = {{"grpc-status", "8"}, {"grpc-message", "Received message larger than max (5242880 vs. 4194304)"}};
  HeadersEvent h;
  h.conn = ref(Hop::kDownstream);
  h.direction = Direction::kSent;
  h.stream_id = 1;
  h.fields = trailers;
  h.count = 2;
  h.end_stream = true;
  obs_.onHeaders(h);
  close(1);
  // A quota's RESOURCE_EXHAUSTED on a small request is not a size failure.
  request(3, "/pkg.Svc/A");
  HeaderField quota[] = {{"grpc-status", "8"}, {"grpc-message", "quota exceeded"}};
  h.stream_id = 3;
  h.fields = quota;
  obs_.onHeaders(h);
  close(3);
  WorkerStats s = stats();
  const MethodStats& m = s.methods.at("pkg.Svc/A");
  EXPECT_EQ(m.by_status[8], 2u);
  ASSERT_EQ(m.exhausted_request_size.count(), 1u);
  EXPECT_NEAR(m.exhausted_request_size.quantile(0.5), 5.0 * (1 << 20), 0.01 * 5 * (1 << 20));
  EXPECT_EQ(m.receive_limit_bytes, 4u << 20);
}

TEST_F(AnalysisObserverTest, LateTicksAreLoopLag) {
  // tick_ms is 1000 by default: ticks 1.0 s apart are on time, 1.3 s apart 300 ms late.
  obs_.onTick(10'000'000'000);
  obs_.onTick(11'000'000'000);
  obs_.onTick(12'300'000'000);
  WorkerStats s = stats();
  const Histogram& lag = s.loop_lag;
  ASSERT_EQ(lag.count(), 2u);
  EXPECT_NEAR(lag.sketch().max(), 0.3, 0.003);
}

TEST(GrpcTimeout, ParsesEveryUnitAndRefusesJunk) {
  EXPECT_DOUBLE_EQ(parseGrpcTimeout("1S"), 1.0);
  EXPECT_DOUBLE_EQ(parseGrpcTimeout("100m"), 0.1);
  EXPECT_DOUBLE_EQ(parseGrpcTimeout("2M"), 120.0);
  EXPECT_DOUBLE_EQ(parseGrpcTimeout("1H"), 3600.0);
  EXPECT_DOUBLE_EQ(parseGrpcTimeout("5000u"), 0.005);
  EXPECT_DOUBLE_EQ(parseGrpcTimeout("99999999n"), 0.099999999);
  for (const char* bad : {"", "S", "1", "1x", "-1S", "123456789S", "1.5S"}) EXPECT_LT(parseGrpcTimeout(bad), 0) << bad;
  EXPECT_EQ(receiveLimitFromMessage("grpc: received message larger than max (6000000 vs. 4194304)"), 4194304u);
  EXPECT_EQ(receiveLimitFromMessage("Received message larger than max (5 vs. 4)"), 4u);
  EXPECT_EQ(receiveLimitFromMessage("quota exceeded"), 0u);
}

// Time at SETTINGS_MAX_CONCURRENT_STREAMS (HopStats::stream_limit_*): the
// server allows 2 streams; calls 1 and 3 open at 2 s and 3 s, call 1 ends at
// 5 s, call 3 at 6 s. Busy 2..6 s (4 s), full 3..5 s (2 s), on both hops
// (the limit is mirrored to the client as grpcscope offers it).
TEST_F(AnalysisObserverTest, TimeAtTheStreamLimitIsCountedPerHop) {
  open();
  SettingEntry limit{0x3, 2};
  SettingsEvent received{ref(Hop::kUpstream), Direction::kReceived, false, &limit, 1};
  obs_.onSettings(received);
  SettingsEvent offered{ref(Hop::kDownstream), Direction::kSent, false, &limit, 1};
  obs_.onSettings(offered);
  request(1, "/pkg.Svc/A", 1, 2'000'000'000);
  request(3, "/pkg.Svc/A", 1, 3'000'000'000);
  obs_.onTick(4'000'000'000);  // a tick in between splits nothing
  close(1, 0, 1, 5'000'000'000);
  close(3, 0, 1, 6'000'000'000);
  WorkerStats s = stats();
  for (const HopStats& h : s.hops) {
    EXPECT_EQ(h.stream_limit_busy_ns, 4'000'000'000u);
    EXPECT_EQ(h.stream_limit_full_ns, 2'000'000'000u);
  }
}

TEST_F(AnalysisObserverTest, NoStreamLimitNoStreamLimitTime) {
  open();
  request(1, "/pkg.Svc/A", 1, 2'000'000'000);
  close(1, 0, 1, 5'000'000'000);
  WorkerStats s = stats();
  EXPECT_EQ(s.hops[1].stream_limit_busy_ns, 0u);
  EXPECT_EQ(s.hops[1].stream_limit_full_ns, 0u);
}

}  // namespace
}  // namespace grpcscope
