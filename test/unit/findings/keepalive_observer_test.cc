// What the keepalive rules read, as the observer builds it from relay events:
// client PINGs told apart (keepalive, BDP, after the server's frames) and
// counted as strikes under gRPC's default policy, the server's too_many_pings
// per client, and the two phases of a graceful GOAWAY.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "analysis/analysis_observer.h"
#include "analysis/event_tap.h"

namespace grpcscope {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

class KeepaliveObserver : public ::testing::Test {
 protected:
  KeepaliveObserver() : tap_(1), obs_(0, AnalysisConfig{}, 0, &tap_) {
    ConnectionOpenEvent d;
    d.conn = ref(Hop::kDownstream);
    d.peer = "10.0.0.7:5555";
    d.at_ns = kSecond;
    obs_.onConnectionOpen(d);
    ConnectionOpenEvent u;
    u.conn = ref(Hop::kUpstream);
    u.peer = "10.0.0.1:443";
    u.at_ns = kSecond;
    obs_.onConnectionOpen(u);
  }
  static ConnectionRef ref(Hop hop) { return {0, 1, hop}; }

  void clientPing(double at_s, uint64_t opaque = 0) {
    PingEvent p;
    p.conn = ref(Hop::kDownstream);
    p.direction = Direction::kReceived;
    p.opaque = opaque;
    p.at_ns = static_cast<uint64_t>(at_s * kSecond);
    obs_.onPing(p);
  }
  void serverData() {
    DataEvent d;
    d.conn = ref(Hop::kUpstream);
    d.direction = Direction::kReceived;
    d.stream_id = 1;
    d.length = 10;
    obs_.onData(d);
  }
  void serverGoaway(uint32_t code, int32_t last, std::string_view debug = "") {
    GoawayEvent g;
    g.conn = ref(Hop::kUpstream);
    g.direction = Direction::kReceived;
    g.error_code = code;
    g.last_stream_id = last;
    g.debug_data = debug;
    obs_.onGoaway(g);
  }
  LegView down() { return obs_.snapshot(true, true, 8).connections.at(0).legs[0]; }
  WorkerStats stats() { return obs_.snapshot(true, false, 0).stats; }

  EventTap tap_;
  AnalysisObserver obs_;
};

TEST_F(KeepaliveObserver, EarlyKeepalivePingsAreStrikes) {
  clientPing(2);  // the first PING is never a strike
  EXPECT_EQ(down().ping_strikes, 0u);
  clientPing(3);
  clientPing(4);
  LegView l = down();
  EXPECT_EQ(l.ping_strikes, 2u);
  EXPECT_EQ(l.keepalive_pings, 3u);
  EXPECT_EQ(l.last_keepalive_interval_ns, kSecond);
  EXPECT_EQ(l.calls_at_last_ping, 0u);
  EXPECT_FALSE(l.strikes_tolerated);
  EXPECT_EQ(stats().hops[0].keepalive_ping_interval.count(), 2u);
}

TEST_F(KeepaliveObserver, ServerFramesResetTheStrikes) {
  clientPing(2);
  clientPing(3);
  serverData();
  clientPing(3.5);  // after the server's DATA: not a strike, and the streak starts over
  LegView l = down();
  EXPECT_EQ(l.ping_strikes, 0u);
  EXPECT_EQ(l.pings_after_server_frames, 1u);
  EXPECT_EQ(stats().hops[0].pings_after_server_frames, 1u);
}

TEST_F(KeepaliveObserver, GoBdpPingIsNotKeepalive) {
  const uint8_t bdp[8] = {0x02, 0x04, 0x10, 0x10, 0x09, 0x0e, 0x07, 0x07};
  uint64_t opaque;
  std::memcpy(&opaque, bdp, 8);
  clientPing(2);
  clientPing(2.1, opaque);
  LegView l = down();
  EXPECT_EQ(l.bdp_pings, 1u);
  EXPECT_EQ(l.keepalive_pings, 1u);
  EXPECT_EQ(l.ping_strikes, 0u);
}

TEST_F(KeepaliveObserver, AFourthStrikeWithoutGoawayMeansALaxerServer) {
  for (int i = 0; i < 5; ++i) clientPing(2 + i);
  EXPECT_TRUE(down().strikes_tolerated);
  EXPECT_EQ(stats().pings_by_client.at("10.0.0.7").tolerated_interval_ns, kSecond);
}

TEST_F(KeepaliveObserver, TooManyPingsIsKeptPerClient) {
  for (int i = 0; i < 4; ++i) clientPing(2 + i);
  serverGoaway(0xb, 0, "too_many_pings");
  WorkerStats s = stats();
  const ClientPings& p = s.pings_by_client.at("10.0.0.7");
  EXPECT_EQ(p.too_many_pings, 1u);
  ASSERT_EQ(p.goaways.size(), 1u);
  EXPECT_EQ(p.goaways[0].interval_ns, kSecond);
  EXPECT_EQ(p.goaways[0].calls_active, 0u);
  EXPECT_EQ(p.goaways[0].pings, 4u);
}

TEST_F(KeepaliveObserver, GracefulGoawayInTwoPhases) {
  serverGoaway(0, 0x7fffffff);
  serverGoaway(0, 0x7fffffff);  // a repeated notice is one notice
  serverGoaway(0, 5);
  WorkerStats s = stats();
  EXPECT_EQ(s.hops[1].goaway_notices, 1u);
  EXPECT_EQ(s.hops[1].goaway_two_phase, 1u);
  EXPECT_EQ(s.hops[1].goaway_notice_age.count(), 1u);
}

TEST_F(KeepaliveObserver, ClientPingsMergeAndStayBounded) {
  ClientPings a, b;
  for (uint64_t i = 0; i < 6; ++i) a.addGoaway({.at_ns = i * 2, .interval_ns = i});
  for (uint64_t i = 0; i < 6; ++i) b.addGoaway({.at_ns = i * 2 + 1, .interval_ns = 100 + i});
  b.tolerated_interval_ns = 7;
  a.merge(b);
  EXPECT_EQ(a.too_many_pings, 12u);
  ASSERT_EQ(a.goaways.size(), ClientPings::kMaxKept);
  EXPECT_EQ(a.goaways.back().at_ns, 11u);
  EXPECT_TRUE(std::is_sorted(a.goaways.begin(), a.goaways.end(),
                             [](const auto& x, const auto& y) { return x.at_ns < y.at_ns; }));
  EXPECT_EQ(a.tolerated_interval_ns, 7u);
}

}  // namespace
}  // namespace grpcscope
