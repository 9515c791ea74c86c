// application.error_rate: a share of a method's calls end with a non-OK
// status, per method and status over the last 60 s, with what the status
// usually means (gRPC's doc/statuscodes.md). DEADLINE_EXCEEDED also shows
// the deadlines the clients set (grpc-timeout) against how long calls take.
#include <algorithm>
#include <array>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"
#include "analysis/grpc_codes.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinErrors = 10;      // failures of one status: a pattern, not a few stray calls
constexpr double kMinShare = 0.05;       // of the method's finished calls: 1 in 20
constexpr double kCriticalShare = 0.5;   // half the calls fail: the method is down
constexpr int kDeadlineExceeded = 4;

struct StatusInfo {
  bool serious;  // a failure of the service or its transport, not an answer about the request
  const char* meaning;
};

// doc/statuscodes.md: which codes a library produces and what each says.
constexpr std::array<StatusInfo, kGrpcStatusCount> kStatus = {{
    {false, ""},
    {false, "the caller cancelled the call (it gave up, or its connection closed)"},
    {true, "the server failed without a status (an exception in the handler), or the response was not gRPC"},
    {false, "the server rejected the request's content: a client bug or bad input"},
    {true, "the call did not finish before the client's deadline"},
    {false, "the server says the requested entity does not exist"},
    {false, "the server says the entity to create exists already"},
    {false, "the caller is not allowed to do this"},
    {true, "a quota or limit ran out: rate limits, memory, or a message larger than the receive limit"},
    {false, "the system is not in the state the operation needs"},
    {false, "a concurrency conflict (transaction aborted); retry at a higher level"},
    {false, "the request asked past the valid range"},
    {true, "the server does not implement this method: wrong server, version or path"},
    {true, "an invariant broke in the server or the transport (also HTTP/2 errors seen by the client)"},
    {true, "the service is unreachable or overloaded, or the connection was lost: transient, retry with backoff"},
    {true, "unrecoverable data loss or corruption"},
    {false, "the request had no valid credentials"},
}};

struct Candidate {
  Finding finding;
  uint64_t errors;
  std::string key;
};

}  // namespace

void applicationErrorRate(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  std::vector<Candidate> found;
  for (const auto& [method, m] : w.stats.methods) {
    if (m.finished == 0) continue;
    for (int code = 1; code < kGrpcStatusCount; ++code) {
      const uint64_t errors = m.by_status[static_cast<size_t>(code)];
      const double share = static_cast<double>(errors) / static_cast<double>(m.finished);
      if (errors < kMinErrors || share < kMinShare) continue;
      const StatusInfo& info = kStatus[static_cast<size_t>(code)];
      Finding f;
      f.id = "application.error_rate";
      f.layer = Layer::kApplication;
      f.severity = !info.serious ? Severity::kInfo : share >= kCriticalShare ? Severity::kCritical : Severity::kWarning;
      f.title = std::to_string(static_cast<int>(share * 100 + 0.5)) + " % of calls end with " + grpcStatusName(code) +
                ": " + info.meaning;
      f.evidence = {{"window_s", rounded(w.seconds)},
                    {"calls", m.finished},
                    {"errors", errors},
                    {"error_share", rounded(share)},
                    {"errors_per_s", rounded(static_cast<double>(errors) / w.seconds)}};
      auto by = m.duration_by_status.find(code);
      if (by != m.duration_by_status.end() && by->second.count() > 0) {
        f.evidence["failed_call_p50_s"] = rounded(by->second.quantile(0.5));
      }
      auto ok = m.duration_by_status.find(0);
      if (ok != m.duration_by_status.end() && ok->second.count() > 0) {
        f.evidence["ok_call_p99_s"] = rounded(ok->second.quantile(0.99));
      }
      std::string fix;
      if (code == kDeadlineExceeded) {
        f.evidence["calls_with_deadline_share"] =
            rounded(std::min(1.0, static_cast<double>(m.deadline.count()) / static_cast<double>(m.finished)));
        if (m.deadline.count() > 0) f.evidence["deadline_p50_s"] = rounded(m.deadline.quantile(0.5));
        if (m.deadline_exceeded_deadline.count() > 0) {
          f.evidence["failed_calls_deadline_p50_s"] = rounded(m.deadline_exceeded_deadline.quantile(0.5));
          f.evidence["failed_calls_deadline_min_s"] = rounded(m.deadline_exceeded_deadline.sketch().min());
        }
        fix =
            "Compare the clients' deadlines with how long successful calls take (ok_call_p99_s). A deadline below "
            "that fails calls that would succeed: raise it (Go context.WithTimeout; C++ ClientContext::set_deadline; "
            "Python timeout= on the call; Java stub.withDeadlineAfter(); Node the deadline call option). If calls "
            "became slower, the server is the cause (see application.server_time_dominates). Without a client "
            "deadline (calls_with_deadline_share 0), the server or a hop before it set one.";
      } else if (code == 14) {
        fix =
            "Check the server's health and capacity (connection.upstream_unavailable names a failed connect); "
            "clients should retry UNAVAILABLE with backoff (a retry policy in the service config).";
      } else if (code == 8) {
        fix =
            "If the status message says \"larger than max\", see serialization.message_size_near_limit; otherwise "
            "a server quota or rate limit is hit: slow the clients or raise the quota.";
      } else if (code == 12) {
        fix = "Check that the client calls a server that serves this method (service name, package, version).";
      } else if (code == 1) {
        fix = "Cancellations come from the clients: check whether they give up on purpose (hedging, user abort) "
              "or lose their connections.";
      } else if (info.serious) {
        fix = "Look at the server's logs for this method: the status comes from its handler or its gRPC library.";
      } else {
        fix = "The server answers the requests with this status: check what the clients send (it is an answer "
              "about the request, not a transport failure).";
      }
      f.recommendation = fix;
      f.scope = {{"method", method}, {"status", grpcStatusName(code)}};
      found.push_back({std::move(f), errors, method + grpcStatusName(code)});
    }
  }
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    const bool sa = a.finding.severity != Severity::kInfo, sb = b.finding.severity != Severity::kInfo;
    if (sa != sb) return sa;
    return a.errors != b.errors ? a.errors > b.errors : a.key < b.key;
  });
  for (size_t i = 0; i < found.size() && i < kMaxPerRule; ++i) out.push_back(std::move(found[i].finding));
}

}  // namespace grpcscope::findings
