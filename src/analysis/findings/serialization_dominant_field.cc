// serialization.dominant_field (info): one field carries most of the bytes
// of a method's large messages, so that field alone decides what the
// messages cost to encode, send and parse. From the wire profile (sampled
// messages, cumulative: the messages' shape, wire_profile.h). The deepest
// such field is named: a blob inside a nested message is more telling than
// the message around it.
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinMessages = 8;            // sampled messages: a shape, not one message
constexpr double kLargeMeanBytes = 16 * 1024;   // "large": 16 KiB on average (smaller ones cost little)
constexpr double kDominantShare = 0.8;          // "most of the bytes": four fifths

struct Candidate {
  Finding finding;
  double bytes;
  std::string key;
};

}  // namespace

void serializationDominantField(const FindingInput& in, std::vector<Finding>& out) {
  const WorkerStats& s = in.current.stats;
  std::vector<Candidate> found;
  for (const auto& [method, m] : s.methods) {
    for (int dir = 0; dir < 2; ++dir) {
      const WireProfile& wp = m.wire[dir];
      if (wp.messages() < kMinMessages) continue;
      const double total = static_cast<double>(wp.bytes());
      const double mean = total / static_cast<double>(wp.messages());
      if (mean < kLargeMeanBytes) continue;
      const WireProfile::FieldSummary* best = nullptr;
      std::vector<WireProfile::FieldSummary> fields =
          wp.fieldSummaries(static_cast<uint64_t>(kDominantShare * total));
      for (const auto& field : fields) {
        if (static_cast<double>(field.bytes) < kDominantShare * total) continue;
        if (!best || field.depth > best->depth) best = &field;
      }
      if (!best) continue;
      const double share = static_cast<double>(best->bytes) / total;
      Finding f;
      f.id = "serialization.dominant_field";
      f.layer = Layer::kSerialization;
      f.severity = Severity::kInfo;
      f.title = std::string("Field ") + best->path + " carries " + std::to_string(static_cast<int>(share * 100)) +
                " % of the bytes of " + messageDirName(dir) + " messages";
      f.evidence = {{"field_path", best->path},
                    {"field_share", rounded(share)},
                    {"field_nested_message", best->nested},
                    {"sampled_messages", wp.messages()},
                    {"message_mean_bytes", rounded(mean)},
                    {"field_mean_bytes", rounded(static_cast<double>(best->bytes) / static_cast<double>(wp.messages()))},
                    {"field_occurrences", best->occurrences}};
      f.recommendation =
          "This field decides the message's cost. A large bytes or string value: compress it if it compresses "
          "(see serialization.compressible_uncompressed), send it as a stream of chunks, or store it elsewhere and "
          "pass a reference; a repeated message: page the list or stream its items; text that encodes data "
          "(JSON, base64) inside a string: carry it as protobuf fields.";
      f.scope = {{"method", method}, {"direction", messageDirName(dir)}};
      found.push_back({std::move(f), static_cast<double>(best->bytes), method + messageDirName(dir)});
    }
  }
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.key < b.key;
  });
  for (size_t i = 0; i < found.size() && i < kMaxPerRule; ++i) out.push_back(std::move(found[i].finding));
}

}  // namespace grpcscope::findings
