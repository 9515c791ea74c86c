// 250 calls in flight at once on ONE client connection (one channel, async
// calls), held open by a server-side delay so that they overlap: the server
// must see them all at the same time, on one upstream connection.
#include <condition_variable>
#include <mutex>

#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

constexpr int kCalls = 250;

class ConcurrentStreamsTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startServer());
    ASSERT_NO_FATAL_FAILURE(startProxy());
    channel_ = channel();
    stub_ = makeStub(channel_);
    ASSERT_TRUE(waitConnected(channel_, scaled(10s)));
  }
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpcscope::test::Echo::Stub> stub_;
};

struct Completion {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<grpc::Status> statuses;
};

TEST_F(ConcurrentStreamsTest, TwoHundredFiftyUnaryCallsInFlight) {
  const int delay_ms = 1500 * slowFactor();
  Completion c;
  c.statuses.resize(kCalls);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(kCalls);
  std::vector<EchoRequest> requests(kCalls);
  std::vector<EchoResponse> responses(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    contexts[i] = std::make_unique<grpc::ClientContext>();
    contexts[i]->set_deadline(deadlineFromNow(scaled(60s)));
    requests[i] = request(100, static_cast<uint32_t>(i));
    requests[i].set_delay_ms(delay_ms);
    stub_->async()->Unary(contexts[i].get(), &requests[i], &responses[i], [&c, i](grpc::Status s) {
      std::lock_guard lock(c.mu);
      c.statuses[i] = std::move(s);
      ++c.done;
      c.cv.notify_all();
    });
  }
  // All of them are open on the server at once.
  EXPECT_TRUE(waitFor([&] { return server_->stats().inFlight() >= kCalls; }, scaled(30s)))
      << "server saw at most " << server_->stats().peakInFlight() << " calls at once";
  {
    std::unique_lock lock(c.mu);
    ASSERT_TRUE(c.cv.wait_for(lock, scaled(90s), [&] { return c.done == kCalls; })) << c.done << " done";
  }
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(c.statuses[i].ok()) << "call " << i << ": " << statusString(c.statuses[i]);
    EXPECT_EQ(responses[i].payload(), requests[i].payload()) << "call " << i;
  }
  EXPECT_GE(server_->stats().peakInFlight(), kCalls);
  EXPECT_EQ(server_->stats().distinctPeers(), 1u) << "all streams on one upstream connection";
}

TEST_F(ConcurrentStreamsTest, TwoHundredFiftyServerStreamsInterleaved) {
  // Each stream sends 20 messages spaced by a delay: frames of all streams
  // interleave on the one connection.
  Completion c;
  c.statuses.resize(kCalls);
  std::vector<int> counts(kCalls, 0);

  class Reader : public grpc::ClientReadReactor<EchoResponse> {
   public:
    Reader(grpcscope::test::Echo::Stub* stub, EchoRequest req, Completion* c, int index, int* count, int* in_order,
           std::chrono::milliseconds deadline)
        : c_(c), index_(index), count_(count), in_order_(in_order), req_(std::move(req)) {
      ctx_.set_deadline(deadlineFromNow(deadline));
      stub->async()->ServerStream(&ctx_, &req_, this);
      StartRead(&resp_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      if (resp_.sequence() != *count_) *in_order_ = 0;
      ++*count_;
      StartRead(&resp_);
    }
    void OnDone(const grpc::Status& s) override {
      std::lock_guard lock(c_->mu);
      c_->statuses[index_] = s;
      ++c_->done;
      c_->cv.notify_all();
    }

   private:
    Completion* c_;
    int index_;
    int* count_;
    int* in_order_;
    grpc::ClientContext ctx_;
    EchoRequest req_;
    EchoResponse resp_;
  };

  std::vector<std::unique_ptr<Reader>> readers;
  std::vector<int> in_order(kCalls, 1);
  for (int i = 0; i < kCalls; ++i) {
    EchoRequest req = request(10, static_cast<uint32_t>(i));
    req.set_response_count(20);
    req.set_response_size(1000);
    req.set_delay_ms(50 * slowFactor());
    readers.push_back(std::make_unique<Reader>(stub_.get(), req, &c, i, &counts[i], &in_order[i], scaled(90s)));
  }
  {
    std::unique_lock lock(c.mu);
    ASSERT_TRUE(c.cv.wait_for(lock, scaled(120s), [&] { return c.done == kCalls; })) << c.done << " done";
  }
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(c.statuses[i].ok()) << "stream " << i << ": " << statusString(c.statuses[i]);
    EXPECT_EQ(counts[i], 20) << "stream " << i;
    EXPECT_TRUE(in_order[i]) << "stream " << i << " messages out of order";
  }
  EXPECT_GE(server_->stats().peakInFlight(), 200);
  EXPECT_EQ(server_->stats().distinctPeers(), 1u);
}

}  // namespace
}  // namespace grpcscope::testsupport
