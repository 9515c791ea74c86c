// proxy.overhead: grpcscope itself is a noticeable part of what the peers
// see, so the finding says so instead of blaming them. Three causes, each its
// own scope, over the last 60 s:
// - proxy_time: the time calls spend inside grpcscope (forwarding headers,
//   end of request and trailers; CallRecord::proxyNs) is a share of the calls;
// - loop_lag: a worker's loop ran its periodic tick late (busy, or the
//   process was not scheduled: CPU limits), delaying every connection on it;
// - dropped_events: the /api/events ring was full and finished-call events
//   were dropped (statistics and findings are complete; the event stream is not).
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinCalls = 50;             // proxy time: enough calls for a median
constexpr double kMinProxyP50S = 0.001;        // 1 ms per call inside a proxy is felt on any RPC
constexpr double kMinProxyShare = 0.1;         // ... and a tenth of the mean call time
constexpr uint64_t kLateTicks = 3;             // loop lag: at least 3 late ticks, not one hiccup
constexpr double kMinLagS = 0.1;               // late: 100 ms, beyond scheduling noise on a shared, busy host
constexpr double kLagOfCallShare = 0.1;        // ... and a tenth of the median call, when there are calls
constexpr uint64_t kMinDroppedEvents = 10;     // a full ring for a moment, not a single event

double mean(const Histogram& h) { return h.count() ? h.sum() / static_cast<double>(h.count()) : 0; }

constexpr const char* kFix =
    " Give grpcscope more CPU (a sidecar's CPU limit throttles it: raise its requests and limits), spread "
    "connections over more event loops (--workers N), or make its analysis cheaper (a larger "
    "--wire-sample-every, a smaller --wire-sample-max). The proxied-vs-direct benchmark (bench/) measures its "
    "cost on this machine.";

}  // namespace

void proxyOverhead(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  const WorkerStats& s = w.stats;
  const double call_mean = mean(s.call_duration);
  const double call_p50 = s.call_duration.quantile(0.5);

  const Histogram& pt = s.proxy_time;
  if (pt.count() >= kMinCalls && call_mean > 0) {
    const double p50 = pt.quantile(0.5);
    const double share = mean(pt) / call_mean;
    if (p50 >= kMinProxyP50S && share >= kMinProxyShare) {
      Finding f;
      f.id = "proxy.overhead";
      f.layer = Layer::kProxy;
      f.severity = Severity::kWarning;
      f.title = "grpcscope's own forwarding time is a noticeable share of call latency";
      f.evidence = {{"window_s", rounded(w.seconds)},
                    {"calls", pt.count()},
                    {"proxy_p50_s", rounded(p50)},
                    {"proxy_p99_s", rounded(pt.quantile(0.99))},
                    {"proxy_mean_s", rounded(mean(pt))},
                    {"call_mean_s", rounded(call_mean)},
                    {"proxy_share", rounded(std::min(1.0, share))}};
      f.recommendation = std::string("This latency is added by grpcscope, not by the client or the server.") + kFix;
      f.scope = {{"cause", "proxy_time"}};
      out.push_back(std::move(f));
    }
  }

  const Histogram& lag = s.loop_lag;
  const uint64_t ticks = lag.count();
  if (ticks >= kLateTicks) {
    // The kLateTicks-th largest lag (rank ceil(q * n), histogram.h, half a rank of slack).
    const double third = lag.quantile((static_cast<double>(ticks - kLateTicks) + 0.5) / static_cast<double>(ticks));
    const double bar = std::max(kMinLagS, s.call_duration.count() > 0 ? kLagOfCallShare * call_p50 : 0.0);
    if (third >= bar) {
      Finding f;
      f.id = "proxy.overhead";
      f.layer = Layer::kProxy;
      f.severity = Severity::kWarning;
      f.title = "grpcscope's event loop ran late: every call on it waited";
      f.evidence = {{"window_s", rounded(w.seconds)},
                    {"ticks", ticks},
                    {"loop_lag_p50_s", rounded(lag.quantile(0.5))},
                    {"loop_lag_p99_s", rounded(lag.quantile(0.99))},
                    {"loop_lag_max_s", rounded(lag.sketch().max())},
                    {"loop_lag_third_largest_s", rounded(third)},
                    {"call_p50_s", rounded(call_p50)}};
      f.recommendation = std::string("grpcscope's loop was busy or not scheduled; calls on it waited that long.") +
                         kFix;
      f.scope = {{"cause", "loop_lag"}};
      out.push_back(std::move(f));
    }
  }

  if (s.tap_dropped >= kMinDroppedEvents) {
    Finding f;
    f.id = "proxy.overhead";
    f.layer = Layer::kProxy;
    f.severity = Severity::kInfo;  // the relay and the statistics are unaffected
    f.title = "grpcscope dropped finished-call events: /api/events readers miss calls";
    f.evidence = {{"window_s", rounded(w.seconds)},
                  {"events_dropped", s.tap_dropped},
                  {"events_dropped_per_s", rounded(static_cast<double>(s.tap_dropped) / w.seconds)},
                  {"calls", s.calls_finished}};
    f.recommendation =
        "The event stream could not keep up (its ring holds 4096 events per worker); statistics, metrics and "
        "findings still count every call. Read /api/events with fewer subscribers or on a less loaded host, or use "
        "/metrics and /api/methods for totals.";
    f.scope = {{"cause", "dropped_events"}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
