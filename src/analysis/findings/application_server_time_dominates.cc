// application.server_time_dominates (info): most of a method's call latency
// is spent upstream beyond the network: in the server's handler or what it
// waits on. Call time splits into grpcscope's own time (proxy_time), the
// upstream leg (request headers out -> trailers back, upstream_time) and the
// rest; the upstream leg less one network round trip (relayed PINGs, else
// TCP_INFO) is the server's time. Per method, last 60 s, unary-shaped calls
// only (at most one message each way): a stream's upstream time is its life.
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinCalls = 20;          // a method's pattern, not a few calls
// Below 10 ms a call is fast whatever its split: the finding would only
// restate that a healthy server does the work.
constexpr double kMinMeanLatencyS = 0.010;
constexpr double kServerShare = 0.8;        // "most": four fifths of the mean call time

struct Candidate {
  Finding finding;
  double server_s;
  std::string key;
};

double mean(const Histogram& h) { return h.count() ? h.sum() / static_cast<double>(h.count()) : 0; }

}  // namespace

void applicationServerTimeDominates(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  const HopStats& up = upstream(w.stats);
  // The upstream network round trip: relayed PINGs, else the kernel's RTT
  // (the window's, else the process's when no sample fell in the window).
  const HopStats& up_all = upstream(in.current.stats);
  double rtt = 0;
  const char* rtt_source = "none";
  for (const Histogram* h : {&up.ping_rtt, &up.tcp_rtt, &up_all.tcp_rtt}) {
    if (h->count() == 0) continue;
    rtt = h->quantile(0.5);
    rtt_source = h == &up.ping_rtt ? "ping" : "tcp_info";
    break;
  }
  const double proxy_mean = mean(w.stats.proxy_time);
  std::vector<Candidate> found;
  for (const auto& [method, m] : w.stats.methods) {
    const uint64_t calls = m.finished;
    if (calls < kMinCalls || m.upstream_time.count() < kMinCalls) continue;
    if (m.messages[kRequest] > calls || m.messages[kResponse] > calls) continue;  // streams
    const double call_mean = mean(m.duration);
    if (call_mean < kMinMeanLatencyS) continue;
    const double up_mean = mean(m.upstream_time);
    const double server_s = std::max(0.0, up_mean - rtt);
    const double share = server_s / call_mean;
    if (share < kServerShare) continue;
    Finding f;
    f.id = "application.server_time_dominates";
    f.layer = Layer::kApplication;
    f.severity = Severity::kInfo;
    f.title = "Most of the call time is spent in the server, not the network or grpcscope";
    f.evidence = {{"window_s", rounded(w.seconds)},
                  {"calls", calls},
                  {"call_mean_s", rounded(call_mean)},
                  {"call_p50_s", rounded(m.duration.quantile(0.5))},
                  {"call_p99_s", rounded(m.duration.quantile(0.99))},
                  {"upstream_mean_s", rounded(up_mean)},
                  {"network_rtt_s", rounded(rtt)},
                  {"network_rtt_source", rtt_source},
                  {"server_mean_s", rounded(server_s)},
                  {"server_share", rounded(std::min(1.0, share))},
                  {"proxy_mean_s", rounded(proxy_mean)}};
    f.recommendation =
        "The latency is the server's: look at this method's handler and what it waits on (database, other "
        "services, locks, a thread pool that is full) with the server's own tracing or profiling. Network, "
        "HTTP/2 and gRPC transport settings will not make these calls faster.";
    f.scope = {{"method", method}};
    found.push_back({std::move(f), server_s, method});
  }
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return a.server_s != b.server_s ? a.server_s > b.server_s : a.key < b.key;
  });
  for (size_t i = 0; i < found.size() && i < kMaxPerRule; ++i) out.push_back(std::move(found[i].finding));
}

}  // namespace grpcscope::findings
