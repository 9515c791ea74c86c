// /api/live, the page's feed (docs/metrics.md, "/api/live"): the past
// minutes at once, then a snapshot a second; event ids that let a reconnect
// get only what it missed; per-second points whose flows show a slow
// reader's window; and the size histograms of /api/methods.
#include <gtest/gtest.h>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUnary = "grpcscope.test.Echo/Unary";

class LiveFeedTest : public AdminTest {
 protected:
  static uint64_t seqOf(const std::string& id) { return std::stoull(id.substr(id.find('-') + 1)); }
  static std::string bootOf(const std::string& id) { return id.substr(0, id.find('-')); }
};

TEST_F(LiveFeedTest, HistoryFirstThenOneSnapshotASecond) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  auto stub = makeStub(channel());
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext ctx;
    grpcscope::test::EchoResponse resp;
    ASSERT_TRUE(stub->Unary(&ctx, request(100, 1), &resp).ok());
  }
  ASSERT_TRUE(waitFinished(5));
  std::this_thread::sleep_for(scaled(2500ms));  // a few seconds of points

  EventStreamReader live(adminUrl() + "/api/live");
  std::vector<SseMessage> snapshots = live.waitForNamed("snapshot", 4, scaled(6000ms));
  ASSERT_GE(snapshots.size(), 4u) << live.raw().substr(0, 2000);
  std::vector<SseMessage> history = live.waitForNamed("history", 1, 0ms);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_NE(live.raw().find("retry: 2000"), std::string::npos);

  // The history comes first, with the same id as the snapshot after it.
  const nlohmann::json& h = history[0].data;
  std::string boot = h["boot"];
  EXPECT_EQ(boot.size(), 16u);
  ASSERT_GE(h["points"].size(), 2u) << h.dump();
  EXPECT_EQ(history[0].id, snapshots[0].id);
  EXPECT_EQ(bootOf(snapshots[0].id), boot);
  uint64_t previous = 0;
  for (const auto& p : h["points"]) {
    EXPECT_GT(p["seq"].get<uint64_t>(), previous);
    previous = p["seq"];
  }
  EXPECT_EQ(previous, seqOf(history[0].id));

  // Then one snapshot a second, ids counting up by one.
  for (size_t i = 1; i < snapshots.size(); ++i) {
    EXPECT_EQ(seqOf(snapshots[i].id), seqOf(snapshots[i - 1].id) + 1);
    EXPECT_EQ(snapshots[i].data["point"]["seq"], seqOf(snapshots[i].id));
  }
  const nlohmann::json& s = snapshots.back().data;
  EXPECT_EQ(s["boot"], boot);
  EXPECT_EQ(s["summary"]["rpcs"]["finished"], 5);
  ASSERT_EQ(s["methods"]["methods"].size(), 1u);
  EXPECT_EQ(s["methods"]["methods"][0]["method"], kUnary);
  EXPECT_TRUE(s["connections"].contains("connections"));
  EXPECT_TRUE(s["findings"].is_array());
  const nlohmann::json& p = s["point"];
  EXPECT_GT(p["wall"].get<double>(), 1.7e9);
  EXPECT_TRUE(p["calls_per_s"].is_number());
  EXPECT_EQ(p["calls_per_s"], 0.0);  // nothing finished in that second
  EXPECT_EQ(p["connections"]["downstream"], 1);
  EXPECT_TRUE(p["marks"]["findings_raised"].is_array());
  ASSERT_EQ(p["flows"].size(), 2u) << p.dump();  // one connection, both hops
  for (const auto& f : p["flows"]) {
    EXPECT_GT(f["send_window"].get<int64_t>(), 0);
    EXPECT_TRUE(f["peer_initial_window"].is_number());
  }
}

TEST_F(LiveFeedTest, AReconnectGetsOnlyThePointsItMissed) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  std::string last_id;
  auto seen = std::chrono::steady_clock::now();
  {
    EventStreamReader live(adminUrl() + "/api/live");
    auto snapshots = live.waitForNamed("snapshot", 2, scaled(5000ms));
    ASSERT_GE(snapshots.size(), 2u);
    last_id = snapshots.back().id;
    seen = std::chrono::steady_clock::now();
  }
  std::this_thread::sleep_for(3000ms);
  EventStreamReader again(adminUrl() + "/api/live", last_id);
  auto history = again.waitForNamed("history", 1, scaled(5000ms));
  ASSERT_EQ(history.size(), 1u);
  double away_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - seen).count();
  const auto& points = history[0].data["points"];
  ASSERT_GE(points.size(), 2u);
  // The seconds it was away (one point a second), not everything since start.
  EXPECT_LE(points.size(), static_cast<size_t>(away_s) + 2) << away_s << " s away";
  EXPECT_EQ(points[0]["seq"], seqOf(last_id) + 1);

  // An id of another process (a grpcscope restarted since): everything kept.
  EventStreamReader foreign(adminUrl() + "/api/live", "0123456789abcdef-" + std::to_string(seqOf(last_id)));
  auto all = foreign.waitForNamed("history", 1, scaled(5000ms));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].data["points"][0]["seq"], 1);
}

TEST_F(LiveFeedTest, ASlowReadersStreamShowsInTheFlows) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  EventStreamReader live(adminUrl() + "/api/live");
  ASSERT_TRUE(live.waitConnected(scaled(5000ms)));
  ChannelOptions co;
  // A fixed 64 KiB window: no BDP probing that would grow it.
  co.int_args = {{GRPC_ARG_HTTP2_BDP_PROBE, 0}, {GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 65535}};
  auto stub = makeStub(channel(co));
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(60000ms)));
  grpcscope::test::EchoRequest req = request(10, 1);
  req.set_response_size(32 * 1024);
  req.set_response_count(30);
  auto reader = stub->ServerStream(&ctx, req);
  grpcscope::test::EchoResponse resp;
  int n = 0;
  while (reader->Read(&resp)) {
    ++n;
    std::this_thread::sleep_for(100ms);  // the slow reader: ~3 s for 960 KiB
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(n, 30);
  std::this_thread::sleep_for(scaled(1500ms));

  // Some second showed the client's leg held back: a stream with bytes
  // queued for it, its window nearly spent, time stalled.
  bool queued = false, stalled = false, throughput = false;
  for (const auto& m : live.waitForNamed("snapshot", 1, 0ms)) {
    for (const auto& f : m.data["point"]["flows"]) {
      if (f["hop"] != "downstream") continue;
      for (const auto& st : f["streams"]) {
        if (st["queued"].get<uint64_t>() > 0 && st["send_window"].get<int64_t>() < 65535) queued = true;
      }
      if ((f["stalled_s"].is_number() && f["stalled_s"].get<double>() > 0) || f["blocked_streams"].get<int>() > 0) {
        stalled = true;
      }
      if (f["throughput_bps"].is_number() && f["throughput_bps"].get<double>() > 100000) throughput = true;
    }
  }
  EXPECT_TRUE(queued) << live.raw().substr(0, 4000);
  EXPECT_TRUE(stalled);
  EXPECT_TRUE(throughput);
}

TEST_F(LiveFeedTest, MethodsCarrySizeHistograms) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  auto stub = makeStub(channel());
  for (int size : {100, 100, 5000, 70000}) {
    grpc::ClientContext ctx;
    grpcscope::test::EchoResponse resp;
    ASSERT_TRUE(stub->Unary(&ctx, request(size, 1), &resp).ok());
  }
  ASSERT_TRUE(waitFinished(4));
  nlohmann::json m = getJson("/api/methods")["methods"][0];
  const nlohmann::json& sizes = m["request"]["size_bytes"];
  uint64_t total = 0;
  double previous_le = 0;
  for (const auto& b : sizes["buckets"]) {
    total += b["count"].get<uint64_t>();
    ASSERT_TRUE(b["le"].is_number());
    EXPECT_GT(b["le"].get<double>(), previous_le);
    previous_le = b["le"];
  }
  EXPECT_EQ(total, 4u) << sizes.dump();
  EXPECT_EQ(sizes["buckets"].front()["count"], 2);  // the two 100-byte requests (plus framing of the message)
  EXPECT_GE(sizes["max"].get<double>(), 70000);
  EXPECT_LT(sizes["max"].get<double>(), 70100);
}

}  // namespace
}  // namespace grpcscope::testsupport
