// UpstreamBackoff as a pure policy: tickets, generations, the probe slot.
// Times are nanoseconds on a made-up clock; jitter is 0 unless a test is
// about it.
#include "proxy/upstream_backoff.h"

#include <gtest/gtest.h>

#include <vector>

namespace grpcscope {
namespace {

constexpr uint64_t kMs = 1'000'000;
using Verdict = UpstreamBackoff::Verdict;
using Ticket = UpstreamBackoff::Ticket;

BackoffConfig config(double jitter = 0) {
  BackoffConfig c;
  c.initial_ms = 100;
  c.multiplier = 1.6;
  c.max_ms = 10'000;
  c.jitter = jitter;
  return c;
}

TEST(UpstreamBackoff, HealthyAllowsAnyNumberOfConcurrentAttempts) {
  UpstreamBackoff b(config(), 1);
  std::vector<Ticket> tickets(20);
  for (Ticket& t : tickets) {
    ASSERT_EQ(b.begin(0, &t), Verdict::kGo);
    EXPECT_TRUE(t);
  }
  EXPECT_FALSE(b.probeInFlight());
  for (Ticket& t : tickets) b.onSuccess(&t);
  EXPECT_EQ(b.consecutiveFailures(), 0u);
}

TEST(UpstreamBackoff, ConcurrentFailuresOfOneGenerationCountOnce) {
  UpstreamBackoff b(config(), 1);
  std::vector<Ticket> tickets(20);
  for (Ticket& t : tickets) ASSERT_EQ(b.begin(0, &t), Verdict::kGo);
  for (size_t i = 0; i < tickets.size(); ++i) b.onFailure(&tickets[i], i * kMs, "closed");
  EXPECT_EQ(b.consecutiveFailures(), 1u);
  // One step: the first failure (at 0) set 100 ms; the next step is 160 ms.
  EXPECT_EQ(b.msUntilNextAttempt(0), 100u);
  EXPECT_DOUBLE_EQ(b.currentBackoffMs(), 160.0);
  EXPECT_EQ(b.lastError(), "closed");
}

TEST(UpstreamBackoff, AfterAFailureOneProbeAtATimeOnceTheBackoffPassed) {
  UpstreamBackoff b(config(), 1);
  Ticket first;
  ASSERT_EQ(b.begin(0, &first), Verdict::kGo);
  b.onFailure(&first, 0, "refused");
  EXPECT_FALSE(first);  // a ticket ends once
  Ticket t;
  EXPECT_EQ(b.begin(50 * kMs, &t), Verdict::kBackingOff);
  EXPECT_FALSE(t);
  EXPECT_EQ(b.msUntilNextAttempt(50 * kMs), 50u);
  Ticket probe;
  ASSERT_EQ(b.begin(100 * kMs, &probe), Verdict::kGo);
  EXPECT_TRUE(b.probeInFlight());
  EXPECT_EQ(b.begin(101 * kMs, &t), Verdict::kProbeInFlight);
  EXPECT_EQ(b.begin(5000 * kMs, &t), Verdict::kProbeInFlight);
  // The probe fails: a second step (160 ms), and the slot is free after it.
  b.onFailure(&probe, 200 * kMs, "refused again");
  EXPECT_FALSE(b.probeInFlight());
  EXPECT_EQ(b.consecutiveFailures(), 2u);
  EXPECT_EQ(b.begin(359 * kMs, &t), Verdict::kBackingOff);
  ASSERT_EQ(b.begin(360 * kMs, &probe), Verdict::kGo);
  b.onSuccess(&probe);
  EXPECT_EQ(b.consecutiveFailures(), 0u);
  EXPECT_FALSE(b.probeInFlight());
  // Healthy again: concurrent attempts, the backoff back at its initial value.
  Ticket a, c;
  EXPECT_EQ(b.begin(361 * kMs, &a), Verdict::kGo);
  EXPECT_EQ(b.begin(361 * kMs, &c), Verdict::kGo);
  EXPECT_DOUBLE_EQ(b.currentBackoffMs(), 100.0);
}

TEST(UpstreamBackoff, AbandonedProbeFreesTheSlot) {
  UpstreamBackoff b(config(), 1);
  Ticket t;
  ASSERT_EQ(b.begin(0, &t), Verdict::kGo);
  b.onFailure(&t, 0, "refused");
  Ticket probe;
  ASSERT_EQ(b.begin(100 * kMs, &probe), Verdict::kGo);
  ASSERT_EQ(b.begin(100 * kMs, &t), Verdict::kProbeInFlight);
  b.abandon(&probe);  // the client left during the connect
  EXPECT_FALSE(probe);
  EXPECT_FALSE(b.probeInFlight());
  EXPECT_EQ(b.consecutiveFailures(), 1u);  // no verdict: nothing counted
  ASSERT_EQ(b.begin(100 * kMs, &probe), Verdict::kGo);
  // Abandoning twice, or a ticket that already ended, changes nothing.
  b.abandon(&probe);
  b.abandon(&probe);
  Ticket none;
  b.abandon(&none);
  b.onFailure(&none, 100 * kMs, "ignored");
  b.onSuccess(&none);
  EXPECT_EQ(b.consecutiveFailures(), 1u);
  EXPECT_EQ(b.lastError(), "refused");
}

TEST(UpstreamBackoff, StaleFailureAfterAProbeStartedDoesNotTakeTheSlotOrCount) {
  UpstreamBackoff b(config(), 1);
  Ticket early1, early2;
  ASSERT_EQ(b.begin(0, &early1), Verdict::kGo);
  ASSERT_EQ(b.begin(0, &early2), Verdict::kGo);
  b.onFailure(&early1, 0, "closed");
  Ticket probe;
  ASSERT_EQ(b.begin(100 * kMs, &probe), Verdict::kGo);
  // An attempt of the first generation fails late (a slow connect timing out):
  // the same outage, already counted; the probe keeps its slot.
  b.onFailure(&early2, 150 * kMs, "timed out");
  EXPECT_EQ(b.consecutiveFailures(), 1u);
  EXPECT_TRUE(b.probeInFlight());
  b.onFailure(&probe, 200 * kMs, "closed");
  EXPECT_EQ(b.consecutiveFailures(), 2u);
}

TEST(UpstreamBackoff, SuccessOfAnOlderAttemptResetsAndOlderFailuresThenDoNotCount) {
  UpstreamBackoff b(config(), 1);
  Ticket a, slow, stale;
  ASSERT_EQ(b.begin(0, &a), Verdict::kGo);
  ASSERT_EQ(b.begin(0, &slow), Verdict::kGo);
  ASSERT_EQ(b.begin(0, &stale), Verdict::kGo);
  b.onFailure(&a, 0, "closed");
  Ticket probe;
  ASSERT_EQ(b.begin(100 * kMs, &probe), Verdict::kGo);
  b.onSuccess(&slow);  // the server answered one of the early connections after all
  EXPECT_EQ(b.consecutiveFailures(), 0u);
  Ticket t;
  EXPECT_EQ(b.begin(100 * kMs, &t), Verdict::kGo);  // healthy: no probe gate
  b.onFailure(&stale, 110 * kMs, "closed");         // began before that success
  EXPECT_EQ(b.consecutiveFailures(), 0u);
  b.onFailure(&probe, 120 * kMs, "closed");  // also older than the success
  EXPECT_EQ(b.consecutiveFailures(), 0u);
  b.onFailure(&t, 130 * kMs, "closed");  // began after it: counts
  EXPECT_EQ(b.consecutiveFailures(), 1u);
}

TEST(UpstreamBackoff, GrowsByTheMultiplierUpToTheCap) {
  UpstreamBackoff b(config(), 1);
  uint64_t now = 0;
  std::vector<uint64_t> waits;
  for (int i = 0; i < 12; ++i) {
    Ticket t;
    now += b.msUntilNextAttempt(now) * kMs;
    ASSERT_EQ(b.begin(now, &t), Verdict::kGo) << i;
    b.onFailure(&t, now, "refused");
    waits.push_back(b.msUntilNextAttempt(now));
  }
  std::vector<uint64_t> expected = {100, 160, 256, 410, 656, 1049, 1678, 2684, 4295, 6872, 10000, 10000};
  ASSERT_EQ(waits.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(waits[i], expected[i], 1) << i;
}

TEST(UpstreamBackoff, JitterStaysWithinItsFraction) {
  UpstreamBackoff b(config(0.2), 7);
  for (int i = 0; i < 200; ++i) {
    Ticket t;
    uint64_t now = static_cast<uint64_t>(i) * 100'000 * kMs;
    ASSERT_EQ(b.begin(now, &t), Verdict::kGo);
    b.onFailure(&t, now, "refused");
    uint64_t wait = b.msUntilNextAttempt(now);
    Ticket ok;
    now += wait * kMs;
    ASSERT_EQ(b.begin(now, &ok), Verdict::kGo);
    b.onSuccess(&ok);  // back to 100 ms for the next round
    EXPECT_GE(wait, 80u);
    EXPECT_LE(wait, 120u);
  }
}

}  // namespace
}  // namespace grpcscope
