// End-to-end backpressure: a server streams 1 GiB as fast as gRPC lets it to
// a client that reads at a bounded rate. The proxy sits between a fast
// producer and a slow consumer; unless it passes the consumer's pace back to
// the producer (consume-on-forward flow control), it buffers the difference.
// Its resident memory, sampled throughout, must stay flat.
#include <algorithm>
#include <atomic>
#include <thread>

#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

constexpr int kMessageSize = 64 << 10;
constexpr int kMessages = 16384;  // 1 GiB
constexpr long kAllowedGrowthKiB = 64 << 10;  // 64 MiB over the baseline

TEST_F(ProxyTest, OneGiBServerStreamToASlowReaderKeepsProxyMemoryFlat) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  // An ASan-built proxy keeps freed memory in a quarantine (256 MiB by
  // default) instead of reusing it, which would look like growth: keep the
  // quarantine small so RSS reflects what the proxy holds.
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string asan_options = std::string(asan ? asan : "") + (asan && *asan ? ":" : "") +
                             "quarantine_size_mb=8:thread_local_quarantine_size_kb=256";
  ASSERT_NO_FATAL_FAILURE(startProxy({}, "", {"ASAN_OPTIONS=" + asan_options}));

  auto ch = channel();
  auto stub = makeStub(ch);
  // Warm up the connection (first-use allocations are not growth).
  {
    EchoRequest warm = request(10);
    warm.set_response_size(kMessageSize);
    warm.set_response_count(64);
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(30s)));
    auto reader = stub->ServerStream(&ctx, warm);
    EchoResponse resp;
    while (reader->Read(&resp)) {
    }
    ASSERT_TRUE(reader->Finish().ok());
  }

  long baseline = proxy_ ? proxy_->rssKiB() : 0;
  std::atomic<long> peak{baseline};
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      if (proxy_) {
        long rss = proxy_->rssKiB();
        long p = peak.load();
        while (rss > p && !peak.compare_exchange_weak(p, rss)) {
        }
      }
      std::this_thread::sleep_for(20ms);
    }
  });

  // The reader paces itself to ~48 MiB/s: slower than the producer, so the
  // windows fill and stay full for most of the stream; 1 GiB takes ~21 s.
  const double bytes_per_second = 48.0 * (1 << 20);
  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(120s)));
  EchoRequest req = request(10);
  req.set_response_size(kMessageSize);
  req.set_response_count(kMessages);
  auto reader = stub->ServerStream(&ctx, req);
  EchoResponse resp;
  int64_t received = 0;
  int messages = 0;
  bool in_order = true;
  auto start = std::chrono::steady_clock::now();
  while (reader->Read(&resp)) {
    if (resp.sequence() != messages) in_order = false;
    ++messages;
    received += static_cast<int64_t>(resp.payload().size());
    auto due = start + std::chrono::microseconds(static_cast<int64_t>(received / bytes_per_second * 1e6));
    std::this_thread::sleep_until(due);  // the pacing of the slow reader, not a wait for an event
  }
  grpc::Status st = reader->Finish();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sampling = false;
  sampler.join();

  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(messages, kMessages);
  EXPECT_EQ(received, int64_t{kMessages} * kMessageSize);
  EXPECT_TRUE(in_order);
  EXPECT_EQ(firstPayloadMismatch(resp.payload(), 0), std::string::npos);
  std::cout << "1 GiB in " << seconds << " s; proxy RSS baseline " << baseline / 1024 << " MiB, peak "
            << peak.load() / 1024 << " MiB\n";
  if (proxy_) {
    EXPECT_LT(peak.load(), baseline + kAllowedGrowthKiB)
        << "proxy RSS grew from " << baseline << " KiB to " << peak.load() << " KiB while relaying to a slow reader";
    EXPECT_TRUE(proxy_->running());
  }
}

}  // namespace
}  // namespace grpcscope::testsupport
