// serialization.message_size_near_limit: a method's messages come close to
// the receive limit every gRPC stack applies by default (4 MiB: Go
// grpc.MaxRecvMsgSize, core GRPC_DEFAULT_MAX_RECV_MESSAGE_LENGTH, Java
// maxInboundMessageSize, grpc-js), or calls already failed with
// RESOURCE_EXHAUSTED "larger than max" (docs/findings.md). Per method and
// direction over the last 60 s; critical once calls fail.
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr double kDefaultLimitBytes = 4 << 20;  // every stack's default receive limit (docs/findings.md)
constexpr double kNearShare = 0.75;             // "near": a quarter of headroom left, as the issue puts it
// At least this many messages at kNearShare or above: one odd message is not a
// pattern (the third largest of the window must be near the limit).
constexpr uint64_t kMinNearMessages = 3;

struct Candidate {
  Finding finding;
  double rank;  // failures first, then the closest to the limit
  std::string key;  // ties: by scope, so the order is stable
};

}  // namespace

void serializationMessageSizeNearLimit(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  std::vector<Candidate> found;
  for (const auto& [method, m] : w.stats.methods) {
    // A limit a server named in its error ("N vs. M") beats the default.
    const bool limit_known = m.receive_limit_bytes > 0;
    const double limit = limit_known ? static_cast<double>(m.receive_limit_bytes) : kDefaultLimitBytes;
    for (int dir = 0; dir < 2; ++dir) {
      const Histogram& sizes = m.message_size[dir];
      const uint64_t n = sizes.count();
      // Size failures are seen for requests only: the server's status reaches
      // the client through grpcscope; a client refusing a response fails locally.
      const Histogram* failed = dir == kRequest ? &m.exhausted_request_size : nullptr;
      const uint64_t failures = failed ? failed->count() : 0;
      double third_largest = 0;
      if (n >= kMinNearMessages) {
        // rank ceil(q * n) = n - kMinNearMessages + 1 (histogram.h), with a half rank of slack for rounding
        third_largest = sizes.quantile((static_cast<double>(n - kMinNearMessages) + 0.5) / static_cast<double>(n));
      }
      const bool near = n >= kMinNearMessages && third_largest >= kNearShare * limit;
      if (!near && failures == 0) continue;
      Finding f;
      f.id = "serialization.message_size_near_limit";
      f.layer = Layer::kSerialization;
      f.severity = failures > 0 ? Severity::kCritical : Severity::kWarning;
      f.title = failures > 0 ? std::string("Calls fail with RESOURCE_EXHAUSTED: ") + messageDirName(dir) +
                                   " messages larger than the receiver's limit"
                             : std::string(messageDirName(dir)) + " messages are close to the receive limit (" +
                                   std::to_string(static_cast<uint64_t>(limit) >> 10) + " KiB)";
      f.evidence = {{"window_s", rounded(w.seconds)},
                    {"messages", n},
                    {"limit_bytes", static_cast<uint64_t>(limit)},
                    {"limit_from_status", limit_known}};
      if (n > 0) {
        f.evidence["message_p50_bytes"] = rounded(sizes.quantile(0.5));
        f.evidence["message_p99_bytes"] = rounded(sizes.quantile(0.99));
        f.evidence["message_max_bytes"] = rounded(sizes.sketch().max());
        f.evidence["max_of_limit_share"] = rounded(sizes.sketch().max() / limit);
      }
      if (failures > 0) {
        f.evidence["resource_exhausted_calls"] = failures;
        f.evidence["failed_message_max_bytes"] = rounded(failed->sketch().max());
        f.evidence["failed_message_min_bytes"] = rounded(failed->sketch().min());
      }
      f.recommendation =
          "Raise the receiver's limit to fit the largest message, or keep messages well below it (split a large "
          "payload into a stream of chunks, page large lists). The receive limit (default 4 MiB) is set on the "
          "side that receives: "
          "Go server grpc.MaxRecvMsgSize(n), client grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(n)); "
          "C++ ServerBuilder::SetMaxReceiveMessageSize(n) and ChannelArguments::SetMaxReceiveMessageSize(n); "
          "Python (core) option grpc.max_receive_message_length; Java maxInboundMessageSize(n); "
          "Node grpc.max_receive_message_length.";
      f.scope = {{"method", method}, {"direction", messageDirName(dir)}};
      double rank = (failures > 0 ? 1e6 : 0) + (n > 0 ? sizes.sketch().max() / limit : 0);
      found.push_back({std::move(f), rank, method + messageDirName(dir)});
    }
  }
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.key < b.key;
  });
  for (size_t i = 0; i < found.size() && i < kMaxPerRule; ++i) out.push_back(std::move(found[i].finding));
}

}  // namespace grpcscope::findings
