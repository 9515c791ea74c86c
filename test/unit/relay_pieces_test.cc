// Pure pieces of the relay: the byte queue, gRPC status encoding, backoff.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "proxy/byte_queue.h"
#include "proxy/grpc_status.h"
#include "proxy/upstream_backoff.h"

namespace grpcscope {
namespace {

TEST(ByteQueueTest, PreservesOrderAcrossBlocksForEverySplit) {
  std::vector<uint8_t> data(3 * ByteQueue::kBlockSize + 123);
  std::iota(data.begin(), data.end(), 0);
  for (size_t split : {size_t{1}, size_t{7}, ByteQueue::kBlockSize - 1, ByteQueue::kBlockSize, data.size()}) {
    ByteQueue q;
    for (size_t off = 0; off < data.size(); off += split) {
      q.append(data.data() + off, std::min(split, data.size() - off));
    }
    ASSERT_EQ(q.size(), data.size());
    std::vector<uint8_t> out(data.size());
    size_t got = 0;
    while (!q.empty()) got += q.read(out.data() + got, 1000);
    EXPECT_EQ(got, data.size());
    EXPECT_EQ(out, data) << "split " << split;
  }
}

TEST(ByteQueueTest, PeekDescribesFrontAndDrainRemovesIt) {
  ByteQueue q;
  std::string a(ByteQueue::kBlockSize, 'a');
  q.append(reinterpret_cast<const uint8_t*>(a.data()), a.size());
  q.append(reinterpret_cast<const uint8_t*>("bcd"), 3);
  iovec iov[4];
  ASSERT_EQ(q.peek(iov, 4), 2u);
  EXPECT_EQ(iov[0].iov_len, ByteQueue::kBlockSize);
  EXPECT_EQ(iov[1].iov_len, 3u);
  q.drain(ByteQueue::kBlockSize + 1);
  ASSERT_EQ(q.size(), 2u);
  uint8_t out[2];
  q.read(out, 2);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 2), "cd");
}

TEST(GrpcStatusTest, PercentEncodesPerGrpcSpec) {
  EXPECT_EQ(percentEncodeGrpcMessage("plain text: ok"), "plain text: ok");
  EXPECT_EQ(percentEncodeGrpcMessage("50% done"), "50%25 done");
  EXPECT_EQ(percentEncodeGrpcMessage("line\nbreak"), "line%0Abreak");
  EXPECT_EQ(percentEncodeGrpcMessage("\xC3\xA9"), "%C3%A9");
}

TEST(GrpcStatusTest, TrailersOnlyCarriesStatusAndMessage) {
  HeaderBlock b;
  buildTrailersOnly(b, kGrpcUnavailable, "upstream x: connect failed: connection refused");
  EXPECT_EQ(b.find(":status"), "200");
  EXPECT_EQ(b.find("content-type"), "application/grpc");
  EXPECT_EQ(b.find("grpc-status"), "14");
  EXPECT_EQ(b.find("grpc-message"), "upstream x: connect failed: connection refused");
}

TEST(UpstreamBackoffTest, GrowsWithJitterAndResetsOnSuccess) {
  BackoffConfig cfg;
  cfg.initial_ms = 100;
  cfg.max_ms = 1000;
  cfg.multiplier = 2.0;
  cfg.jitter = 0.2;
  UpstreamBackoff b(cfg);
  const uint64_t t0 = 1'000'000'000;
  EXPECT_TRUE(b.mayConnect(t0));
  UpstreamBackoff::Ticket t;
  ASSERT_EQ(b.begin(t0, &t), UpstreamBackoff::Verdict::kGo);
  b.onFailure(&t, t0, "connection refused");
  EXPECT_FALSE(b.mayConnect(t0));
  uint64_t wait1 = b.msUntilNextAttempt(t0);
  EXPECT_GE(wait1, 80u);
  EXPECT_LE(wait1, 121u);
  EXPECT_EQ(b.lastError(), "connection refused");
  // Ten more failed probes, each once the previous backoff passed.
  uint64_t now = t0;
  for (int i = 0; i < 10; ++i) {
    now += b.msUntilNextAttempt(now) * 1'000'000;
    ASSERT_EQ(b.begin(now, &t), UpstreamBackoff::Verdict::kGo) << i;
    b.onFailure(&t, now, "again");
  }
  EXPECT_LE(b.msUntilNextAttempt(now), 1201u);  // capped at max (+ jitter)
  EXPECT_GE(b.msUntilNextAttempt(now), 799u);
  now += b.msUntilNextAttempt(now) * 1'000'000;
  ASSERT_EQ(b.begin(now, &t), UpstreamBackoff::Verdict::kGo);
  b.onSuccess(&t);
  EXPECT_TRUE(b.mayConnect(now));
}

}  // namespace
}  // namespace grpcscope
