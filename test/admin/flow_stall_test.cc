// A client that reads a server stream slowly makes grpcscope hold bytes it
// cannot send (the client's window is closed): the stalls and their time are
// reported per hop, per method and per call.
#include <gtest/gtest.h>

#include "admin/admin_fixture.h"

namespace grpcscope::testsupport {
namespace {

class FlowStallTest : public AdminTest {};

TEST_F(FlowStallTest, SlowReaderStallsAreReported) {
  SKIP_IF_DIRECT("the admin endpoint belongs to the proxy");
  startServer();
  startProxy();
  EventStreamReader events(adminUrl() + "/api/events");
  ASSERT_TRUE(events.waitConnected(scaled(std::chrono::milliseconds(5000))));
  ChannelOptions co;
  // A fixed 64 KiB window: no BDP probing that would grow it.
  co.int_args = {{GRPC_ARG_HTTP2_BDP_PROBE, 0}, {GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 65535}};
  auto stub = makeStub(channel(co));
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(std::chrono::milliseconds(60000))));
  grpcscope::test::EchoRequest req = request(10, 1);
  req.set_response_size(32 * 1024);
  req.set_response_count(24);
  auto reader = stub->ServerStream(&ctx, req);
  grpcscope::test::EchoResponse resp;
  int n = 0;
  auto start = std::chrono::steady_clock::now();
  while (reader->Read(&resp)) {
    ++n;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));  // the slow reader
  }
  double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(n, 24);
  ASSERT_TRUE(waitFinished(1));

  auto m = scrape();
  double stalls = sampleValue(m, "grpcscope_flow_control_stalls_total", {{"hop", "downstream"}}).value_or(0);
  double stall_s = sampleValue(m, "grpcscope_flow_control_stall_seconds_total", {{"hop", "downstream"}}).value_or(0);
  EXPECT_GT(stalls, 0);
  std::cout << "downstream: " << stalls << " stalls (" << sampleValue(m, "grpcscope_flow_control_connection_stalls_total",
                                                                   {{"hop", "downstream"}})
                                                           .value_or(-1)
            << " with the connection window closed), " << stall_s << " s\n";
  // 768 KiB through a 64 KiB window read at ~800 KiB/s: most of the call is spent waiting.
  EXPECT_GT(stall_s, 0.2) << "read took " << read_s << " s";
  EXPECT_LE(stall_s, read_s + 1.0);
  double method_stall_s = sampleValue(m, "grpcscope_method_flow_control_stall_seconds_total",
                                      {{"grpc_method", "grpcscope.test.Echo/ServerStream"}})
                              .value_or(0);
  EXPECT_GT(method_stall_s, 0.2);
  std::vector<nlohmann::json> got = events.waitFor(1, scaled(std::chrono::milliseconds(5000)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GT(got[0]["stalls"].get<uint64_t>(), 0u);
  EXPECT_GT(got[0]["stall_s"].get<double>(), 0.2);
  EXPECT_EQ(got[0]["response"]["messages"], 24);
}

}  // namespace
}  // namespace grpcscope::testsupport
