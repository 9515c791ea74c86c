// serialization.unpacked_repeated_field: a repeated scalar field (varint,
// fixed32, fixed64) is sent unpacked, one tag per element, where a packed
// encoding writes one tag and one length for all of them (protobuf encoding
// guide, "Packed Repeated Fields"). The wire profile counts, in the sampled
// messages, the tags and bytes packing would save (wire_profile.h). It is
// cumulative: it describes the messages' shape, not a rate.
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr uint64_t kMinMessages = 8;       // sampled messages with the field unpacked: a schema, not one message
constexpr double kMinSavedShare = 0.05;    // packing saves at least 5 % of the method's sampled bytes
constexpr uint64_t kMinSavedBytes = 1024;  // ... and at least 1 KiB over the sample

const char* wireTypeName(uint8_t t) {
  switch (t) {
    case WireProfile::kVarint: return "varint";
    case WireProfile::kFixed64: return "fixed64";
    case WireProfile::kFixed32: return "fixed32";
    default: return "len";
  }
}

struct Candidate {
  Finding finding;
  uint64_t saved;
  std::string key;
};

}  // namespace

void serializationUnpackedRepeatedField(const FindingInput& in, std::vector<Finding>& out) {
  const WorkerStats& s = in.current.stats;  // the profile is cumulative in every view
  std::vector<Candidate> found;
  for (const auto& [method, m] : s.methods) {
    for (int dir = 0; dir < 2; ++dir) {
      const WireProfile& wp = m.wire[dir];
      if (wp.messages() < kMinMessages || wp.bytes() == 0) continue;
      for (const WireProfile::FieldSummary& field : wp.fieldSummaries(0, kMinSavedBytes)) {
        if (field.unpacked_in_messages < kMinMessages || field.packing_saved_bytes < kMinSavedBytes) continue;
        const double share = static_cast<double>(field.packing_saved_bytes) / static_cast<double>(wp.bytes());
        if (share < kMinSavedShare) continue;
        Finding f;
        f.id = "serialization.unpacked_repeated_field";
        f.layer = Layer::kSerialization;
        f.severity = Severity::kWarning;
        f.title = std::string("Repeated scalar field ") + field.path + " of " + messageDirName(dir) +
                  " messages is sent unpacked (one tag per element)";
        f.evidence = {{"field_path", field.path},
                      {"wire_type", wireTypeName(field.wire_type)},
                      {"sampled_messages", wp.messages()},
                      {"sampled_bytes", wp.bytes()},
                      {"messages_with_field_unpacked", field.unpacked_in_messages},
                      {"field_bytes", field.bytes},
                      {"packing_would_save_bytes", field.packing_saved_bytes},
                      {"packing_would_save_share", rounded(share)},
                      {"saved_per_message_bytes",
                       rounded(static_cast<double>(field.packing_saved_bytes) /
                               static_cast<double>(field.unpacked_in_messages))}};
        f.recommendation =
            "Declare the field packed in the .proto: proto2 `repeated int32 f = N [packed = true];`; proto3 "
            "packs repeated scalars unless the field says [packed = false]; editions "
            "features.repeated_field_encoding = PACKED. Parsers accept both encodings of a repeated scalar (protobuf "
            "encoding guide, \"Packed Repeated Fields\"), so the sender can switch before the receivers are rebuilt.";
        f.scope = {{"method", method}, {"direction", messageDirName(dir)}, {"field", field.path}};
        found.push_back({std::move(f), field.packing_saved_bytes, method + messageDirName(dir) + field.path});
      }
    }
  }
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return a.saved != b.saved ? a.saved > b.saved : a.key < b.key;
  });
  for (size_t i = 0; i < found.size() && i < kMaxPerRule; ++i) out.push_back(std::move(found[i].finding));
}

}  // namespace grpcscope::findings
