// No stream waits for another: a stream whose far side does not read must
// block only itself. A gRPC peer returns connection-level window as soon as
// it holds the bytes (RFC 9113 section 6.9: the connection window covers
// all streams); a proxy that returns it only once the far side reads makes
// one stalled stream block every other call on the connection.
//
// The peers run with BDP probing off (grpc.http2.bdp_probe=0), so windows
// stay at 64 KiB and fill within a few messages. Each test starts a call
// that stalls, then makes a unary call on the same channel (the same HTTP/2
// connection) and times it. Directly (GRPCSCOPE_TEST_DIRECT=1) the unary call
// returns in about a millisecond.
#include <algorithm>
#include <atomic>
#include <map>
#include <vector>
#include <thread>

#include "admin/admin_client.h"
#include "proxy_fixture.h"
#include "support/raw_h2.h"

namespace grpcscope::testsupport {
namespace {

using namespace std::chrono_literals;
using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

constexpr int kMessage = 16 << 10;
constexpr int kUploadMessages = 64;  // 1 MiB

class HeadOfLineTest : public ProxyTest {
 protected:
  void SetUp() override {
    EchoServerOptions server;
    server.int_args = {{"grpc.http2.bdp_probe", 0}};
    ASSERT_NO_FATAL_FAILURE(startServer(server));
    ASSERT_NO_FATAL_FAILURE(startProxy());
    ChannelOptions options;
    options.int_args = {{"grpc.http2.bdp_probe", 0}};
    channel_ = channel(options);
    ASSERT_TRUE(waitConnected(channel_, scaled(10s)));
    stub_ = makeStub(channel_);
  }

  // A unary call on the shared channel; its duration, or a failure.
  std::chrono::milliseconds timedUnary() {
    auto start = std::chrono::steady_clock::now();
    EchoResponse response;
    grpc::Status status = unaryCall(*stub_, request(100), &response, scaled(10s));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    EXPECT_TRUE(status.ok()) << statusString(status);
    return took;
  }

  // Through grpcscope: the wait is reported as a stall on `hop`, at least
  // `seconds` long. (With 64 KiB windows the connection window also touches
  // zero now and then while bytes flow, directly as through grpcscope, so
  // connection stalls are not counted here; RawHeadOfLineTest checks the
  // windows themselves.)
  void expectStreamStall(const std::string& hop, double seconds) {
    if (!proxy_) return;
    std::string admin = adminAddressFrom(proxy_->listeningLine());
    HttpResponse metrics = httpRequest("http://" + admin + "/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.error;
    auto samples = parseExposition(metrics.body);
    EXPECT_GE(sampleValue(samples, "grpcscope_flow_control_stall_seconds_total", {{"hop", hop}}).value_or(0), seconds)
        << "the stalled stream is reported on the " << hop << " hop";
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

// (a) Client streams of 1 MiB each to handlers that read their first message,
// then nothing for 3 s. Their bytes wait in the server's stream windows and
// in grpcscope; the unary call behind them must not. Four of them hold more
// than any connection window the peers open, so the test does not depend on
// whether the server has widened its connection window by then.
TEST_F(HeadOfLineTest, UploadToAHandlerThatDoesNotReadBlocksOnlyItsOwnStream) {
  constexpr int kUploads = 4;
  struct Upload {
    grpc::ClientContext ctx;
    EchoResponse summary;
    std::unique_ptr<grpc::ClientWriter<EchoRequest>> writer;
    std::atomic<int> written{0};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Upload>> uploads;
  for (int u = 0; u < kUploads; ++u) {
    auto up = std::make_unique<Upload>();
    up->ctx.set_deadline(deadlineFromNow(scaled(30s)));
    up->writer = stub_->ClientStream(&up->ctx, &up->summary);
    EchoRequest first = request(10);
    first.set_read_delay_ms(3000);
    ASSERT_TRUE(up->writer->Write(first));
    Upload* raw = up.get();
    up->thread = std::thread([raw] {
      for (int i = 0; i < kUploadMessages; ++i) {
        if (!raw->writer->Write(request(kMessage, static_cast<uint32_t>(i)))) break;
        ++raw->written;
      }
      raw->writer->WritesDone();
    });
    uploads.push_back(std::move(up));
  }
  // Wait until every upload has more than its stream windows' worth on its
  // way, then give the windows a moment to close.
  auto until = std::chrono::steady_clock::now() + scaled(5s);
  for (auto& up : uploads) {
    while (up->written < 8 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    EXPECT_GE(up->written.load(), 8);
  }
  std::this_thread::sleep_for(300ms);

  std::chrono::milliseconds took = timedUnary();
  std::cout << "unary call behind " << kUploads << " stalled uploads: " << took.count() << " ms\n";
  EXPECT_LT(took, scaled(1000ms)) << "the unary call waited for the stalled streams";

  for (auto& up : uploads) {
    up->thread.join();
    grpc::Status status = up->writer->Finish();
    EXPECT_TRUE(status.ok()) << statusString(status);
    EXPECT_EQ(up->summary.request_bytes_seen(), 10 + kUploadMessages * kMessage) << "every byte of the upload arrived";
  }
  expectStreamStall("upstream", 2.0);
}

// (b) A server stream of 64 x 16 KiB whose client reads the first message and
// then stops reading. The server keeps writing into its stream window and
// grpcscope's buffer; the unary call on the same connection must not wait.
TEST_F(HeadOfLineTest, ServerStreamTheClientStopsReadingBlocksOnlyItsOwnStream) {
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(30s)));
  EchoRequest req = request(10);
  req.set_response_size(kMessage);
  req.set_response_count(64);
  auto reader = stub_->ServerStream(&ctx, req);
  EchoResponse response;
  ASSERT_TRUE(reader->Read(&response));
  // Let the server fill the windows the client no longer opens.
  std::this_thread::sleep_for(500ms);

  std::chrono::milliseconds took = timedUnary();
  std::cout << "unary call behind a stream nobody reads: " << took.count() << " ms\n";
  EXPECT_LT(took, scaled(1000ms)) << "the unary call waited for the unread stream";

  // The stalled stream itself is intact: reading on gets every message in order.
  int messages = 1;
  while (reader->Read(&response)) {
    EXPECT_EQ(response.sequence(), messages);
    ++messages;
  }
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << statusString(status);
  EXPECT_EQ(messages, 64);
  expectStreamStall("downstream", 0.4);
}

// Many streams at once, one of them never read: every other call completes.
TEST_F(HeadOfLineTest, ManyCallsFinishWhileOneStreamIsUnread) {
  grpc::ClientContext stalled_ctx;
  stalled_ctx.set_deadline(deadlineFromNow(scaled(30s)));
  EchoRequest req = request(10);
  req.set_response_size(kMessage);
  req.set_response_count(64);
  auto stalled = stub_->ServerStream(&stalled_ctx, req);
  EchoResponse response;
  ASSERT_TRUE(stalled->Read(&response));
  std::this_thread::sleep_for(500ms);

  // 32 concurrent server streams of 256 KiB each: 8 MiB through the same
  // connection window, far more than its 64 KiB.
  std::atomic<int> ok{0};
  std::vector<std::thread> calls;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 32; ++i) {
    calls.emplace_back([&, i] {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(scaled(10s)));
      EchoRequest r = request(10, static_cast<uint32_t>(i));
      r.set_response_size(kMessage);
      r.set_response_count(16);
      auto stream = stub_->ServerStream(&ctx, r);
      EchoResponse m;
      int n = 0;
      while (stream->Read(&m)) ++n;
      if (stream->Finish().ok() && n == 16) ++ok;
    });
  }
  for (auto& t : calls) t.join();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::cout << "32 streams beside an unread one: " << ok << " ok in " << took.count() << " ms\n";
  EXPECT_EQ(ok.load(), 32);
  stalled_ctx.TryCancel();
  while (stalled->Read(&response)) {
  }
  stalled->Finish();
}

// The same at the frame level, with raw peers on both sides so every window is
// known: the server returns connection window for every byte it receives (as
// gRPC servers do) but never opens stream 1's window. The client fills stream
// 1 as far as its windows allow. grpcscope holds the bytes it cannot forward;
// it must give the client back the connection window for them (not the stream
// window) so that stream 3 can still send.
class RawHeadOfLineTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("needs the proxy between two raw peers");
    ASSERT_NO_FATAL_FAILURE(startProxy(proxyArgs(), listener_.address()));
    std::string error;
    ASSERT_TRUE(rawConnect(client_, &error)) << error;
    client_.send(std::string(h2::kClientPreface) + h2::settingsFrame());
    int fd = listener_.accept(scaled(10s));
    ASSERT_GE(fd, 0) << "the proxy did not connect upstream";
    ASSERT_TRUE(rawAdoptAsServer(server_, fd, &error)) << error;
    ASSERT_TRUE(pumpUntil([&] { return settingsSeen(client_) && settingsSeen(server_); }));
  }

  virtual std::vector<std::string> proxyArgs() const { return {}; }

  // Sends on `stream` until neither its window nor the connection's opens
  // again: what grpcscope would hold of it is then held.
  int64_t fill(uint32_t stream) {
    int64_t total = 0;
    for (int round = 0; round < 20; ++round) {
      int64_t sent = sendWhatWindowsAllow(stream);
      total += sent;
      bool opened = pumpUntil([&] { return std::min(connectionWindow(), streamWindow(stream)) > 0; }, 300ms);
      if (sent == 0 && !opened) break;
    }
    return total;
  }

  static bool settingsSeen(const h2::RawConnection& c) {
    for (const auto& f : c.outcome().frames) {
      if (f.type == h2::kSettings && !(f.flags & h2::kFlagAck)) return true;
    }
    return false;
  }
  // WINDOW_UPDATE increments received on `stream` (0: the connection).
  static int64_t increments(const h2::RawConnection& c, uint32_t stream) {
    int64_t sum = 0;
    for (const auto& f : c.outcome().frames) {
      if (f.type != h2::kWindowUpdate || f.stream_id != stream || f.payload.size() != 4) continue;
      auto b = [&](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(f.payload[i])); };
      sum += (b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3)) & 0x7fffffff;
    }
    return sum;
  }
  static int64_t dataBytes(const h2::RawConnection& c, uint32_t stream) {
    int64_t sum = 0;
    for (const auto& f : c.outcome().frames) {
      if (f.type == h2::kData && f.stream_id == stream) sum += static_cast<int64_t>(f.payload.size());
    }
    return sum;
  }

  // Both peers read and answer; the server returns connection window for
  // every DATA byte it got, and nothing for the streams.
  bool pumpUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
    auto never = [](const h2::Outcome&) { return false; };
    return waitFor(
        [&] {
          client_.idleClient(never, 10ms);
          server_.idleClient(never, 10ms);
          int64_t got = dataBytes(server_, 1) + dataBytes(server_, 3);
          if (got > server_returned_) {
            server_.send(h2::windowUpdateFrame(0, static_cast<uint32_t>(got - server_returned_)));
            server_returned_ = got;
          }
          return pred();
        },
        scaled(timeout), 1ms);
  }

  // Sends DATA on `stream` up to what its window and the connection window allow.
  int64_t sendWhatWindowsAllow(uint32_t stream) {
    int64_t room = std::min(connectionWindow(), streamWindow(stream));
    int64_t sent = 0;
    while (room > 0) {
      size_t n = static_cast<size_t>(std::min<int64_t>(room, 16384));
      client_.send(h2::frame(h2::kData, 0, stream, std::string(n, 'x')));
      sent_[stream] += static_cast<int64_t>(n);
      sent += static_cast<int64_t>(n);
      room -= static_cast<int64_t>(n);
    }
    return sent;
  }
  int64_t connectionWindow() {
    int64_t sent = 0;
    for (auto& [id, n] : sent_) sent += n;
    return 65535 + increments(client_, 0) - sent;
  }
  int64_t streamWindow(uint32_t stream) { return 65535 + increments(client_, stream) - sent_[stream]; }

  h2::RawListener listener_;
  h2::RawConnection client_;
  h2::RawConnection server_;
  int64_t server_returned_ = 0;
  std::map<uint32_t, int64_t> sent_;
};

TEST_F(RawHeadOfLineTest, BufferedBytesReturnConnectionWindowNotStreamWindow) {
  std::string block = h2::grpcRequestBlock("localhost", "/grpcscope.test.Echo/ClientStream");
  client_.send(h2::headersFrames(1, block, false));
  // Fill stream 1 until its window stays shut: the server took 64 KiB (its
  // stream window) and grpcscope holds what the client could send after it.
  int64_t total = 0;
  for (int round = 0; round < 20; ++round) {
    total += sendWhatWindowsAllow(1);
    pumpUntil([&] { return streamWindow(1) > 0; }, 300ms);
    if (streamWindow(1) <= 0 && dataBytes(server_, 1) >= 65535) break;
  }
  ASSERT_GE(dataBytes(server_, 1), 65535) << server_.outcome().describe();
  ASSERT_GT(total, 65535) << "grpcscope holds none of stream 1's bytes: nothing to test";
  std::cout << "stream 1: client sent " << total << " bytes, the server has " << dataBytes(server_, 1)
            << "; client's connection window " << connectionWindow() << ", stream 1 window " << streamWindow(1)
            << "\n";
  EXPECT_LE(streamWindow(1), 0) << "grpcscope opened stream 1's window for bytes the server has not taken";

  // Stream 3 needs connection window: grpcscope must have returned it for the
  // bytes it buffered.
  ASSERT_TRUE(pumpUntil([&] { return connectionWindow() >= 100; }, 2s))
      << "the client's connection window stays shut by stream 1's buffered bytes (" << connectionWindow() << ")";
  client_.send(h2::headersFrames(3, block, false));
  client_.send(h2::frame(h2::kData, h2::kFlagEndStream, 3, std::string(100, 'y')));
  sent_[3] += 100;
  EXPECT_TRUE(pumpUntil([&] { return dataBytes(server_, 3) == 100; }))
      << "stream 3's bytes did not reach the server: " << server_.outcome().describe();
  EXPECT_EQ(dataBytes(server_, 1), 65535) << "the server's stream window was respected";
}

// The connection window covers at most --max-connection-buffer of buffered
// bytes: four streams that nobody reads hold no more than that plus the
// connection window, however many stream windows they have. Past the budget
// the client's connection window stays shut (the last streams cannot send):
// the bound is what a stalled connection then costs.
class RawConnectionBufferTest : public RawHeadOfLineTest {
 protected:
  std::vector<std::string> proxyArgs() const override { return {"--max-connection-buffer", "65536"}; }
};

TEST_F(RawConnectionBufferTest, BufferedBytesStayWithinTheBudget) {
  std::string block = h2::grpcRequestBlock("localhost", "/grpcscope.test.Echo/ClientStream");
  int64_t sent = 0;
  for (uint32_t stream : {1u, 3u, 5u, 7u}) {
    client_.send(h2::headersFrames(stream, block, false));
    sent += fill(stream);
  }
  int64_t delivered = 0;
  for (uint32_t stream : {1u, 3u, 5u, 7u}) delivered += dataBytes(server_, stream);
  int64_t held = sent - delivered;
  std::cout << "4 unread streams: client sent " << sent << ", server has " << delivered << ", grpcscope holds " << held
            << " (budget 65536 + connection window 65535)\n";
  EXPECT_GE(delivered, 2 * 65535) << "the first streams filled the server's stream windows";
  EXPECT_GT(held, 65535) << "the budget let more than one stream window through";
  EXPECT_LE(held, 65536 + 65535) << "more held than the budget plus the connection window";
  EXPECT_LE(connectionWindow(), 0) << "past the budget the connection window stays shut";
}

}  // namespace
}  // namespace grpcscope::testsupport
