// Schema-less protobuf wire profile of one method and one direction:
// where the bytes of the messages go, by field path and wire type, how deep
// the messages nest, which repeated scalar fields are sent unpacked (one tag
// per element), and how well the messages would compress.
//
// The wire format is walked by hand (protobuf encoding guide,
// https://protobuf.dev/programming-guides/encoding/): varint (0), fixed64 (1),
// length-delimited (2) and fixed32 (5). Groups (3/4) are deprecated and rare:
// a group tag makes a message malformed at the top level and rules a
// length-delimited value out as a nested message.
//
// Cost is bounded per message whatever the peer sends: at most
// kMaxFieldsPerMessage fields recorded and kMaxScanTagsPerMessage tags read
// while checking candidate nested messages; at most kMaxDepth levels; at most
// kMaxPaths distinct paths per profile (the rest is counted in one "other"
// bucket). Once the path table holds a path, add() allocates nothing but
// the table growing up to kMaxPaths entries.
//
// Nested messages, and the known ambiguity: without a schema a
// length-delimited value is either bytes/string or an embedded message (or a
// packed repeated field). It is counted as a nested message only when its
// content parses cleanly to the exact end with tags a real encoder could
// write: field numbers in 1..2^29-1 outside the reserved 19000..19999, wire
// types 0, 1, 2 or 5, varints of at most 10 bytes, lengths inside the value,
// and at least one field. Most text fails this quickly (any byte whose low
// three bits are 3, 4, 6 or 7 in tag position), but a short string or a packed
// field can still happen to parse (the two bytes "\x08\x01" are both the
// string of two control characters and a message with field 1 = 1). Such a
// value is reported as nested, with child paths. With a descriptor set the
// child paths of a string field have no name (DescriptorNames returns "").
// Empty values stay leaves (an empty message and an empty string are the same
// bytes), and so do values made only of printable text (ASCII 0x20..0x7e,
// tab, CR, LF): text that happens to parse is far more common than a message
// whose tags are all printable (fields 1..3 have control-byte tags).
//
// Threading: a WireProfile is a plain value owned by one worker; add() is
// called on that worker's thread only. The admin side copies or merges
// snapshots. The zlib state used by add() is per thread (thread_local).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace grpcscope {

class DescriptorNames;

class WireProfile {
 public:
  static constexpr size_t kMaxPaths = 256;
  static constexpr int kMaxDepth = 16;                    // path components
  static constexpr uint32_t kMaxFieldsPerMessage = 4096;  // fields recorded
  static constexpr uint32_t kMaxScanTagsPerMessage = 8192;  // nested-candidate checks
  // Compressibility sampling: the first kCompressionSampleBytes of a message
  // are compressed; every message until the profile has sampled
  // kCompressionWarmupBytes, then one message in kCompressionEvery
  // (compression is most of add()'s cost; the ratio converges long before).
  static constexpr size_t kCompressionSampleBytes = 64 * 1024;
  static constexpr uint64_t kCompressionWarmupBytes = 1024 * 1024;
  static constexpr uint32_t kCompressionEvery = 8;
  static constexpr size_t kMaxJsonFields = 50;

  // Wire types of the encoding guide.
  enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

  // Analyses one complete, uncompressed gRPC message (the bytes after the
  // 5-byte prefix). A message that is not well-formed protobuf at the top
  // level is counted as malformed and adds no field statistics; its bytes
  // are still sampled for compressibility.
  void add(const uint8_t* data, size_t len);

  // Adds another profile of the same method and direction (per-worker
  // snapshots). Paths that no longer fit go to the "other" bucket.
  void merge(const WireProfile& other);

  // {"messages","bytes","max_depth","malformed","truncated",
  //  "compression":{"sampled_messages","sampled_bytes","compressed_bytes","ratio"},
  //  "distinct_fields","fields":[...largest first...],"unlisted_fields",
  //  "other_fields_bytes"}. Field names come from `names` when it is not
  // null and knows `method` ("/pkg.Service/Method"); `request` picks the
  // input or the output type.
  nlohmann::json toJson(const DescriptorNames* names, std::string_view method, bool request) const;

  uint64_t messages() const { return messages_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t malformed() const { return malformed_; }
  uint64_t truncated() const { return truncated_; }
  int maxDepth() const { return max_depth_; }
  uint64_t sampledMessages() const { return sampled_messages_; }
  uint64_t sampledBytes() const { return sampled_bytes_; }
  uint64_t compressedBytes() const { return compressed_bytes_; }
  uint64_t otherFieldsBytes() const { return other_bytes_; }
  size_t distinctPaths() const { return paths_.size(); }

  // One recorded path, for the findings (plain figures, no JSON).
  struct FieldSummary {
    std::string path;                    // "1", "3.2" (field numbers, outermost first)
    int depth = 1;
    uint8_t wire_type = 0;               // the first seen (WireType)
    bool nested = false;                 // walked as a nested message
    uint64_t occurrences = 0;
    uint64_t bytes = 0;                  // tag + length + value, nested content included
    uint64_t unpacked_in_messages = 0;   // enclosing messages where it repeated unpacked
    uint64_t packing_saved_bytes = 0;    // what packing would have saved in those
  };
  // The paths with at least min_bytes bytes and min_packing_saved_bytes
  // saved bytes (the filter keeps a caller that wants a few paths from
  // building every path's name).
  std::vector<FieldSummary> fieldSummaries(uint64_t min_bytes = 0, uint64_t min_packing_saved_bytes = 0) const;

 private:
  static constexpr uint16_t kNoParent = 0xFFFF;
  static constexpr size_t kIndexSlots = 2 * kMaxPaths;  // open addressing, load <= 1/2

  struct PathStats {
    uint32_t field_number = 0;
    uint16_t parent = kNoParent;   // index into paths_, parents precede children
    uint8_t depth = 1;             // number of path components
    uint8_t wire_types = 0;        // bit (1 << wire type) for each type seen
    uint8_t first_wire_type = 0;
    uint64_t occurrences = 0;
    uint64_t bytes = 0;            // tag + length prefix + value, nested content included
    uint64_t max_bytes = 0;        // one occurrence
    uint64_t nested = 0;           // occurrences walked as nested messages
    uint64_t repeated_in_messages = 0;  // enclosing messages where it occurred more than once
    uint64_t unpacked_in_messages = 0;  // ... as a scalar (varint/fixed): unpacked repeated
    uint64_t packing_saved_tags = 0;
    uint64_t packing_saved_bytes = 0;
    // Per enclosing message instance, within one add() only.
    uint32_t cur_instance = 0;
    uint32_t cur_count = 0;
    uint64_t cur_value_bytes = 0;
    uint8_t cur_scalar_only = 1;
  };

  struct Walk;  // per-message walk state (wire_profile.cc)

  int findOrInsert(uint16_t parent, uint32_t field_number, int depth);
  static void finishInstance(PathStats& s);
  std::string pathString(size_t index) const;
  void sampleCompression(const uint8_t* data, size_t len);
  void walkLevel(Walk& w, const uint8_t* p, const uint8_t* end, uint16_t parent, int depth, uint32_t instance);

  uint64_t messages_ = 0;
  uint64_t bytes_ = 0;
  uint64_t malformed_ = 0;
  uint64_t truncated_ = 0;  // messages whose walk stopped at a per-message bound
  int max_depth_ = 0;
  uint64_t sampled_messages_ = 0;
  uint64_t sampled_bytes_ = 0;
  uint64_t compressed_bytes_ = 0;
  uint32_t compression_skip_ = 0;  // messages since the last sample, after warm-up
  uint64_t other_bytes_ = 0;  // occurrences whose path did not fit, counted once at the outermost level
  std::vector<PathStats> paths_;
  struct IndexSlot {  // the key sits in the slot: a probe reads one array
    uint32_t field_number = 0;
    uint16_t parent = 0;
    uint16_t entry = 0;  // 0 empty, else paths_ index + 1
  };
  std::vector<IndexSlot> index_;   // kIndexSlots slots, allocated at the first field
  std::vector<uint16_t> touched_;  // paths with an open instance in the current add()
};

}  // namespace grpcscope
