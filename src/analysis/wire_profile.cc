#include "analysis/wire_profile.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>

#include "analysis/descriptor_names.h"

namespace grpcscope {
namespace {

// One field as it sits on the wire. `total` spans tag, length prefix and value.
struct Field {
  uint32_t number = 0;
  uint8_t wire_type = 0;
  size_t total = 0;
  const uint8_t* value = nullptr;  // content of a length-delimited field
  size_t value_len = 0;            // bytes of the value alone (varint, fixed or content)
};

// Base-128 varint (encoding guide, "Base 128 Varints"). Returns the bytes
// consumed, or 0 when the varint runs past `end` or past 64 bits.
inline size_t readVarint(const uint8_t* p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (p + i >= end) return 0;
    const uint8_t b = p[i];
    if (i == 9 && b > 1) return 0;
    v |= uint64_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) == 0) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

constexpr size_t varintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Parses the field at `p`. `strict` adds the rules of the nested-message
// heuristic (see the header): no field numbers of protobuf's reserved range.
// Field numbers are 1..2^29-1 (the tag is a 32-bit varint of number << 3).
inline bool parseField(const uint8_t* p, const uint8_t* end, bool strict, Field* f) {
  uint64_t tag = 0;
  const size_t tag_len = readVarint(p, end, &tag);
  if (tag_len == 0 || tag_len > 5 || tag > 0xFFFFFFFFu) return false;
  f->number = static_cast<uint32_t>(tag >> 3);
  f->wire_type = static_cast<uint8_t>(tag & 7);
  if (f->number == 0) return false;
  if (strict && f->number >= 19000 && f->number <= 19999) return false;
  const uint8_t* q = p + tag_len;
  const size_t left = static_cast<size_t>(end - q);
  switch (f->wire_type) {
    case WireProfile::kVarint: {
      uint64_t v = 0;
      f->value_len = readVarint(q, end, &v);
      if (f->value_len == 0) return false;
      break;
    }
    case WireProfile::kFixed64:
      if (left < 8) return false;
      f->value_len = 8;
      break;
    case WireProfile::kFixed32:
      if (left < 4) return false;
      f->value_len = 4;
      break;
    case WireProfile::kLen: {
      uint64_t n = 0;
      const size_t prefix = readVarint(q, end, &n);
      if (prefix == 0 || n > left - prefix) return false;
      f->value = q + prefix;
      f->value_len = static_cast<size_t>(n);
      f->total = tag_len + prefix + f->value_len;
      return true;
    }
    default:  // 3/4 groups, 6/7 undefined
      return false;
  }
  f->value = q;
  f->total = tag_len + f->value_len;
  return true;
}

// Text (printable ASCII, tabs and line ends) is taken for a string even when
// it would parse as a message: field tags 1..3 are control bytes, so real
// nested messages almost never look like this, while text often parses.
bool looksLikeText(const uint8_t* p, const uint8_t* end) {
  for (; p < end; ++p) {
    if ((*p < 0x20 || *p > 0x7e) && *p != '\t' && *p != '\n' && *p != '\r') return false;
  }
  return true;
}

enum class Scan { kClean, kMalformed, kBudget };

// Checks one level (tags and value bounds, without descending) from `p` to
// exactly `end`, reading at most *budget tags. *stop is where a clean or
// budget-limited scan ended.
Scan scanLevel(const uint8_t* p, const uint8_t* end, bool strict, uint32_t* budget, const uint8_t** stop) {
  Field f;
  while (p < end) {
    if (*budget == 0) {
      *stop = p;
      return Scan::kBudget;
    }
    --*budget;
    if (!parseField(p, end, strict, &f)) return Scan::kMalformed;
    p += f.total;
  }
  *stop = end;
  return Scan::kClean;
}

const char* wireTypeName(uint8_t wt) {
  switch (wt) {
    case WireProfile::kVarint: return "varint";
    case WireProfile::kFixed64: return "fixed64";
    case WireProfile::kLen: return "len";
    case WireProfile::kFixed32: return "fixed32";
  }
  return "invalid";
}

double rounded(double v, double scale = 10000.0) { return std::round(v * scale) / scale; }

// One deflate state per thread, reset per message: deflateInit allocates
// ~270 KiB, too much per message. Level 1 (fastest) and the gzip container,
// as grpc-encoding: gzip would send it (RFC 1952; gRPC compression spec);
// higher levels shrink a little more, so the ratio errs on the high side.
class Deflater {
 public:
  ~Deflater() {
    if (ready_) deflateEnd(&zs_);
  }
  // Compressed size of data[0, len), or -1 when zlib is unavailable.
  int64_t compressedSize(const uint8_t* data, size_t len) {
    if (!tried_) {
      tried_ = true;
      ready_ = deflateInit2(&zs_, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    }
    if (!ready_ || deflateReset(&zs_) != Z_OK) return -1;
    zs_.next_in = const_cast<Bytef*>(data);
    zs_.avail_in = static_cast<uInt>(len);
    int64_t total = 0;
    // Output is counted and discarded: the size is all we need.
    for (int round = 0; round < 64; ++round) {
      zs_.next_out = out_;
      zs_.avail_out = sizeof(out_);
      const int rc = deflate(&zs_, Z_FINISH);
      total += static_cast<int64_t>(sizeof(out_) - zs_.avail_out);
      if (rc == Z_STREAM_END) return total;
      if (rc != Z_OK && rc != Z_BUF_ERROR) return -1;
    }
    return -1;
  }

 private:
  z_stream zs_{};
  bool tried_ = false;
  bool ready_ = false;
  Bytef out_[16 * 1024];
};

}  // namespace

// Per-message walk state. Instance ids tell enclosing messages apart so that
// "more than once" means within one enclosing message, not across siblings.
struct WireProfile::Walk {
  uint32_t fields_left = kMaxFieldsPerMessage;
  uint32_t scan_left = kMaxScanTagsPerMessage;
  uint32_t next_instance = 1;  // 0 is the top-level message
  bool truncated = false;
  bool stop = false;
};

void WireProfile::add(const uint8_t* data, size_t len) {
  sampleCompression(data, len);
  const uint8_t* end = data + len;
  const uint8_t* stop = data;
  // The top level is checked before anything is recorded, so that a payload
  // that is not protobuf (another codec, a misread compressed flag) does not
  // fill the path table with noise.
  uint32_t top_budget = kMaxFieldsPerMessage;
  const Scan top = scanLevel(data, end, /*strict=*/false, &top_budget, &stop);
  if (top == Scan::kMalformed) {
    ++malformed_;
    return;
  }
  ++messages_;
  bytes_ += len;
  Walk w;
  walkLevel(w, data, stop, kNoParent, 1, 0);
  for (uint16_t i : touched_) finishInstance(paths_[i]);
  touched_.clear();
  if (top == Scan::kBudget || w.truncated) ++truncated_;
}

void WireProfile::walkLevel(Walk& w, const uint8_t* p, const uint8_t* end, uint16_t parent, int depth,
                            uint32_t instance) {
  Field f;
  while (p < end) {
    if (w.fields_left == 0) {
      w.truncated = w.stop = true;
      return;
    }
    --w.fields_left;
    if (!parseField(p, end, /*strict=*/false, &f)) {  // cannot happen after a clean scan
      w.truncated = w.stop = true;
      return;
    }
    if (depth > max_depth_) max_depth_ = depth;
    const int idx = findOrInsert(parent, f.number, depth);
    if (idx < 0) {
      other_bytes_ += f.total;  // its nested content too: not descended into
      p += f.total;
      continue;
    }
    {
      PathStats& s = paths_[static_cast<size_t>(idx)];
      if (s.wire_types == 0) s.first_wire_type = f.wire_type;
      s.wire_types |= static_cast<uint8_t>(1u << f.wire_type);
      ++s.occurrences;
      s.bytes += f.total;
      s.max_bytes = std::max<uint64_t>(s.max_bytes, f.total);
      const bool scalar = f.wire_type != kLen;
      if (s.cur_count == 0) {
        touched_.push_back(static_cast<uint16_t>(idx));
      } else if (s.cur_instance != instance) {
        finishInstance(s);
      }
      if (s.cur_count == 0) {
        s.cur_instance = instance;
        s.cur_value_bytes = 0;
        s.cur_scalar_only = 1;
      }
      ++s.cur_count;
      s.cur_value_bytes += f.value_len;
      if (!scalar) s.cur_scalar_only = 0;
    }
    if (f.wire_type == kLen && depth < kMaxDepth && f.value_len >= 2 &&
        !looksLikeText(f.value, f.value + f.value_len)) {
      const uint8_t* vend = f.value + f.value_len;
      const uint8_t* vstop = nullptr;
      const Scan r = scanLevel(f.value, vend, /*strict=*/true, &w.scan_left, &vstop);
      if (r == Scan::kClean) {
        ++paths_[static_cast<size_t>(idx)].nested;  // re-indexed: the walk below may grow paths_
        walkLevel(w, f.value, vend, static_cast<uint16_t>(idx), depth + 1, w.next_instance++);
        if (w.stop) return;
      } else if (r == Scan::kBudget) {
        w.truncated = true;  // undecided: left as a leaf
      }
    }
    p += f.total;
  }
}

void WireProfile::finishInstance(PathStats& s) {
  if (s.cur_count > 1) {
    ++s.repeated_in_messages;
    if (s.cur_scalar_only) {
      // Packed: one tag and one length prefix for all elements instead of a
      // tag per element (encoding guide, "Packed Repeated Fields").
      ++s.unpacked_in_messages;
      const uint64_t extra_tags = s.cur_count - 1;
      const uint64_t tag = varintSize(uint64_t{s.field_number} << 3);
      const uint64_t saved = extra_tags * tag;
      const uint64_t prefix = varintSize(s.cur_value_bytes);
      s.packing_saved_tags += extra_tags;
      if (saved > prefix) s.packing_saved_bytes += saved - prefix;
    }
  }
  s.cur_count = 0;
}

int WireProfile::findOrInsert(uint16_t parent, uint32_t field_number, int depth) {
  if (index_.empty()) {
    index_.resize(kIndexSlots);
    touched_.reserve(kMaxPaths);
  }
  const uint64_t key = (uint64_t{parent} << 32) | field_number;
  size_t slot = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 55) & (kIndexSlots - 1);
  static_assert(kIndexSlots == 512, "the shift above picks 9 bits");
  for (;;) {
    const IndexSlot& e = index_[slot];
    if (e.entry == 0) break;
    if (e.field_number == field_number && e.parent == parent) return e.entry - 1;
    slot = (slot + 1) & (kIndexSlots - 1);
  }
  if (paths_.size() >= kMaxPaths) return -1;
  PathStats s;
  s.field_number = field_number;
  s.parent = parent;
  s.depth = static_cast<uint8_t>(depth);
  paths_.push_back(s);
  index_[slot] = IndexSlot{field_number, parent, static_cast<uint16_t>(paths_.size())};
  return static_cast<int>(paths_.size() - 1);
}

void WireProfile::sampleCompression(const uint8_t* data, size_t len) {
  const size_t n = std::min(len, kCompressionSampleBytes);
  if (n == 0) return;
  if (sampled_bytes_ >= kCompressionWarmupBytes) {
    if (++compression_skip_ < kCompressionEvery) return;
    compression_skip_ = 0;
  }
  thread_local Deflater deflater;
  const int64_t c = deflater.compressedSize(data, n);
  if (c < 0) return;
  ++sampled_messages_;
  sampled_bytes_ += n;
  compressed_bytes_ += static_cast<uint64_t>(c);
}

void WireProfile::merge(const WireProfile& other) {
  if (&other == this) {
    const WireProfile copy = other;
    merge(copy);
    return;
  }
  messages_ += other.messages_;
  bytes_ += other.bytes_;
  malformed_ += other.malformed_;
  truncated_ += other.truncated_;
  max_depth_ = std::max(max_depth_, other.max_depth_);
  sampled_messages_ += other.sampled_messages_;
  sampled_bytes_ += other.sampled_bytes_;
  compressed_bytes_ += other.compressed_bytes_;
  other_bytes_ += other.other_bytes_;
  // Parents precede children in paths_, so one pass maps every path.
  std::vector<int> mapped(other.paths_.size(), -1);
  for (size_t i = 0; i < other.paths_.size(); ++i) {
    const PathStats& o = other.paths_[i];
    uint16_t parent = kNoParent;
    if (o.parent != kNoParent) {
      if (mapped[o.parent] < 0) continue;  // inside a parent counted as other
      parent = static_cast<uint16_t>(mapped[o.parent]);
    }
    const int idx = findOrInsert(parent, o.field_number, o.depth);
    if (idx < 0) {
      other_bytes_ += o.bytes;
      continue;
    }
    mapped[i] = idx;
    PathStats& s = paths_[static_cast<size_t>(idx)];
    if (s.wire_types == 0) s.first_wire_type = o.first_wire_type;
    s.wire_types |= o.wire_types;
    s.occurrences += o.occurrences;
    s.bytes += o.bytes;
    s.max_bytes = std::max(s.max_bytes, o.max_bytes);
    s.nested += o.nested;
    s.repeated_in_messages += o.repeated_in_messages;
    s.unpacked_in_messages += o.unpacked_in_messages;
    s.packing_saved_tags += o.packing_saved_tags;
    s.packing_saved_bytes += o.packing_saved_bytes;
  }
}

std::string WireProfile::pathString(size_t index) const {
  uint32_t numbers[kMaxDepth];
  int n = 0;
  for (size_t i = index; n < kMaxDepth; i = paths_[i].parent) {
    numbers[n++] = paths_[i].field_number;
    if (paths_[i].parent == kNoParent) break;
  }
  std::string out;
  for (int k = n - 1; k >= 0; --k) {
    out += std::to_string(numbers[k]);
    if (k) out += '.';
  }
  return out;
}

std::vector<WireProfile::FieldSummary> WireProfile::fieldSummaries(uint64_t min_bytes,
                                                                   uint64_t min_packing_saved_bytes) const {
  std::vector<FieldSummary> out;
  for (size_t i = 0; i < paths_.size(); ++i) {
    const PathStats& p = paths_[i];
    if (p.bytes < min_bytes || p.packing_saved_bytes < min_packing_saved_bytes) continue;
    out.push_back({pathString(i), p.depth, p.first_wire_type, p.nested > 0, p.occurrences, p.bytes,
                   p.unpacked_in_messages, p.packing_saved_bytes});
  }
  return out;
}

nlohmann::json WireProfile::toJson(const DescriptorNames* names, std::string_view method, bool request) const {
  nlohmann::json j;
  j["messages"] = messages_;
  j["bytes"] = bytes_;
  j["max_depth"] = max_depth_;
  j["malformed"] = malformed_;
  j["truncated"] = truncated_;
  nlohmann::json c;
  c["sampled_messages"] = sampled_messages_;
  c["sampled_bytes"] = sampled_bytes_;
  c["compressed_bytes"] = compressed_bytes_;
  if (sampled_bytes_ > 0) {
    c["ratio"] = rounded(static_cast<double>(compressed_bytes_) / static_cast<double>(sampled_bytes_));
  } else {
    c["ratio"] = nullptr;
  }
  j["compression"] = std::move(c);

  std::vector<std::string> paths(paths_.size());
  std::vector<size_t> order(paths_.size());
  for (size_t i = 0; i < paths_.size(); ++i) {
    paths[i] = pathString(i);
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (paths_[a].bytes != paths_[b].bytes) return paths_[a].bytes > paths_[b].bytes;
    return paths[a] < paths[b];
  });
  const size_t listed = std::min(order.size(), kMaxJsonFields);
  nlohmann::json fields = nlohmann::json::array();
  for (size_t k = 0; k < listed; ++k) {
    const PathStats& s = paths_[order[k]];
    nlohmann::json f;
    f["path"] = paths[order[k]];
    if (names != nullptr) {
      std::string name = names->fieldName(method, request, paths[order[k]]);
      if (!name.empty()) f["name"] = std::move(name);
    }
    f["wire_type"] = wireTypeName(s.first_wire_type);
    if ((s.wire_types & (s.wire_types - 1)) != 0) {  // more than one type seen
      nlohmann::json types = nlohmann::json::array();
      for (uint8_t wt : {kVarint, kFixed64, kLen, kFixed32}) {
        if (s.wire_types & (1u << wt)) types.push_back(wireTypeName(wt));
      }
      f["wire_types"] = std::move(types);
    }
    f["depth"] = s.depth;
    f["nested"] = s.nested > 0;
    f["occurrences"] = s.occurrences;
    f["bytes"] = s.bytes;
    f["share"] = bytes_ > 0 ? rounded(static_cast<double>(s.bytes) / static_cast<double>(bytes_)) : 0.0;
    f["max_bytes"] = s.max_bytes;
    f["repeated_in_messages"] = s.repeated_in_messages;
    f["unpacked_repeated"] = s.unpacked_in_messages > 0;
    f["unpacked_in_messages"] = s.unpacked_in_messages;
    f["packing_would_save_tags"] = s.packing_saved_tags;
    f["packing_would_save_bytes"] = s.packing_saved_bytes;
    fields.push_back(std::move(f));
  }
  j["distinct_fields"] = paths_.size();
  j["fields"] = std::move(fields);
  j["unlisted_fields"] = paths_.size() - listed;
  j["other_fields_bytes"] = other_bytes_;
  return j;
}

}  // namespace grpcscope
