// The schema-less protobuf wire profile and descriptor-set field names.
// Messages are encoded by libprotobuf from test/unit/wire_test.proto;
// the descriptor set was written by protoc --descriptor_set_out --include_imports
// (cmake/wire_profile.cmake).
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "analysis/descriptor_names.h"
#include "analysis/wire_profile.h"
#include "wire_test.pb.h"

namespace grpcscope {
namespace {

namespace wt = grpcscope::wiretest;
using nlohmann::json;

constexpr const char* kPlace = "/grpcscope.wiretest.Orders/Place";
constexpr const char* kEcho = "/grpcscope.wiretest.Orders/Echo";

void addBytes(WireProfile& p, const std::string& bytes) {
  p.add(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void addMessage(WireProfile& p, const google::protobuf::Message& m) { addBytes(p, m.SerializeAsString()); }

// The "fields" entry for `path`, or null JSON when not listed.
json field(const json& report, const std::string& path) {
  for (const json& f : report["fields"]) {
    if (f["path"] == path) return f;
  }
  return nullptr;
}

uint64_t topLevelBytes(const json& report) {
  uint64_t sum = 0;
  for (const json& f : report["fields"]) {
    if (f["depth"] == 1) sum += f["bytes"].get<uint64_t>();
  }
  return sum;
}

size_t varintSize(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

wt::Order sampleOrder(int items) {
  wt::Order o;
  o.set_id("shipment 42");
  for (int i = 0; i < items; ++i) {
    wt::Item* it = o.add_items();
    it->set_sku("sku-" + std::to_string(1000 + i));
    it->mutable_price()->set_units(100 + i);
    it->mutable_price()->set_nanos(990000000);
    it->set_quantity(static_cast<uint32_t>(i + 1));
  }
  o.mutable_created()->set_seconds(1700000000);
  o.mutable_created()->set_nanos(123456789);
  o.mutable_deep()->mutable_child()->mutable_inner()->set_value(7);
  o.mutable_deep()->mutable_child()->mutable_inner()->set_stamp(0x0102030405060708ull);
  o.mutable_deep()->mutable_child()->set_code(99);
  (*o.mutable_labels())["kind"] = 3;
  (*o.mutable_labels())["zone"] = 4;
  return o;
}

// --- repeated scalars: packed vs unpacked -----------------------------------

TEST(WireProfileTest, PackedRepeatedIsOneLenFieldAndNotFlagged) {
  wt::Scalars m;
  for (int i = 1; i <= 10; ++i) m.add_packed_ints(i);
  WireProfile p;
  addMessage(p, m);
  addMessage(p, m);
  const json r = p.toJson(nullptr, kEcho, true);
  const json f = field(r, "1");
  ASSERT_FALSE(f.is_null()) << r.dump(2);
  EXPECT_EQ(f["wire_type"], "len");
  EXPECT_EQ(f["occurrences"], 2);
  EXPECT_EQ(f["repeated_in_messages"], 0);
  EXPECT_EQ(f["unpacked_repeated"], false);
  EXPECT_EQ(f["packing_would_save_bytes"], 0);
  EXPECT_EQ(f["nested"], false);  // 0x01 is field number 0: not a message
  EXPECT_EQ(r["distinct_fields"], 1);
}

TEST(WireProfileTest, UnpackedRepeatedScalarsDetectedWithExactSavings) {
  // For each unpacked field the estimated saving is exactly what libprotobuf's
  // packed encoding of the same values saves (the packed twin has a tag of
  // the same size).
  struct Case {
    const char* path;
    const char* wire_type;
    std::function<void(wt::Scalars&, wt::Scalars&)> fill;  // unpacked, packed
    int count;
  };
  const std::vector<Case> cases = {
      {"2", "varint",
       [](wt::Scalars& u, wt::Scalars& pk) {
         for (int i = 0; i < 10; ++i) u.add_unpacked_ints(i * 1000), pk.add_packed_ints(i * 1000);
       },
       10},
      {"3", "fixed32",
       [](wt::Scalars& u, wt::Scalars& pk) {
         for (uint32_t i = 0; i < 7; ++i) u.add_unpacked_fixed32(i), pk.add_packed_fixed32(i);
       },
       7},
      {"4", "fixed64",
       [](wt::Scalars& u, wt::Scalars& pk) {
         for (int i = 0; i < 40; ++i) u.add_unpacked_doubles(i * 0.5), pk.add_packed_doubles(i * 0.5);
       },
       40},
      {"300", "varint",  // two-byte tags, ten-byte negative values, two-byte length prefix
       [](wt::Scalars& u, wt::Scalars& pk) {
         for (int i = 0; i < 200; ++i) u.add_unpacked_far(-i), pk.add_packed_far(-i);
       },
       200},
  };
  for (const Case& c : cases) {
    wt::Scalars unpacked, packed;
    c.fill(unpacked, packed);
    const std::string bytes = unpacked.SerializeAsString();
    WireProfile p;
    addBytes(p, bytes);
    const json r = p.toJson(nullptr, kEcho, true);
    const json f = field(r, c.path);
    ASSERT_FALSE(f.is_null()) << c.path << r.dump(2);
    EXPECT_EQ(f["wire_type"], c.wire_type) << c.path;
    EXPECT_EQ(f["occurrences"], c.count) << c.path;
    EXPECT_EQ(f["bytes"].get<uint64_t>(), bytes.size()) << c.path;
    EXPECT_EQ(f["repeated_in_messages"], 1) << c.path;
    EXPECT_EQ(f["unpacked_repeated"], true) << c.path;
    EXPECT_EQ(f["packing_would_save_tags"], c.count - 1) << c.path;
    EXPECT_EQ(f["packing_would_save_bytes"].get<uint64_t>(), unpacked.ByteSizeLong() - packed.ByteSizeLong())
        << c.path;
    // The packed twin is one len field, not flagged.
    WireProfile q;
    addMessage(q, packed);
    const json rq = q.toJson(nullptr, kEcho, true);
    ASSERT_EQ(rq["fields"].size(), 1u) << rq.dump(2);
    EXPECT_EQ(rq["fields"][0]["wire_type"], "len");
    EXPECT_EQ(rq["fields"][0]["unpacked_repeated"], false);
  }
}

TEST(WireProfileTest, SingleElementAndMixedMessagesCountedPerMessage) {
  wt::Scalars one;
  one.add_unpacked_ints(5);
  wt::Scalars three;
  for (int v : {1, 2, 3}) three.add_unpacked_ints(v);
  WireProfile p;
  addMessage(p, one);
  addMessage(p, three);
  addMessage(p, three);
  addMessage(p, one);
  const json f = field(p.toJson(nullptr, kEcho, true), "2");
  EXPECT_EQ(f["occurrences"], 1 + 3 + 3 + 1);
  EXPECT_EQ(f["repeated_in_messages"], 2);
  EXPECT_EQ(f["unpacked_in_messages"], 2);
  EXPECT_EQ(f["packing_would_save_tags"], 4);
  EXPECT_EQ(f["packing_would_save_bytes"], 2 * (2 * 1 - 1));  // two saved tags, one length byte added
}

// --- nesting ----------------------------------------------------------------

TEST(WireProfileTest, NestedTwoAndThreeLevelsGivePathsAndDepth) {
  wt::Order o;
  o.set_id("shipment 1");
  for (int i = 0; i < 3; ++i) {
    wt::Item* it = o.add_items();
    it->set_sku("sku-" + std::to_string(i));
    it->mutable_price()->set_units(10 + i);
    it->mutable_price()->set_nanos(5);
  }
  WireProfile p;
  addMessage(p, o);
  json r = p.toJson(nullptr, kPlace, true);
  EXPECT_EQ(r["max_depth"], 3) << r.dump(2);
  for (const char* path : {"1", "3", "3.1", "3.2", "3.2.1", "3.2.2"}) {
    EXPECT_FALSE(field(r, path).is_null()) << path << r.dump(2);
  }
  EXPECT_EQ(r["distinct_fields"], 6) << r.dump(2);
  EXPECT_EQ(field(r, "3")["nested"], true);
  EXPECT_EQ(field(r, "3")["occurrences"], 3);
  EXPECT_EQ(field(r, "3")["repeated_in_messages"], 1);
  EXPECT_EQ(field(r, "3")["unpacked_repeated"], false);  // messages cannot be packed
  EXPECT_EQ(field(r, "3.2")["nested"], true);
  EXPECT_EQ(field(r, "3.2")["depth"], 2);
  EXPECT_EQ(field(r, "3.2.1")["depth"], 3);
  // Once per item: not "repeated" although three items carry it.
  EXPECT_EQ(field(r, "3.2")["occurrences"], 3);
  EXPECT_EQ(field(r, "3.2")["repeated_in_messages"], 0);
  EXPECT_EQ(field(r, "3.2.1")["repeated_in_messages"], 0);
  EXPECT_EQ(field(r, "1")["nested"], false);

  // Three levels below the top: path 5.1.1.1, depth 4.
  wt::Order deep;
  deep.mutable_deep()->mutable_child()->mutable_inner()->set_value(1);
  deep.mutable_deep()->mutable_child()->mutable_inner()->set_stamp(2);
  deep.mutable_deep()->mutable_child()->set_code(3);
  addMessage(p, deep);
  r = p.toJson(nullptr, kPlace, true);
  EXPECT_EQ(r["max_depth"], 4);
  EXPECT_EQ(field(r, "5.1.1.1")["wire_type"], "varint");
  EXPECT_EQ(field(r, "5.1.1.2")["wire_type"], "fixed64");
  EXPECT_EQ(field(r, "5.1.2")["wire_type"], "fixed32");
  EXPECT_EQ(field(r, "5.1.1")["nested"], true);
}

TEST(WireProfileTest, BytesPerFieldSumExactlyToMessageLength) {
  for (int items : {0, 1, 5, 40}) {
    const wt::Order o = sampleOrder(items);
    const std::string bytes = o.SerializeAsString();
    WireProfile p;
    addBytes(p, bytes);
    const json r = p.toJson(nullptr, kPlace, true);
    EXPECT_EQ(r["bytes"], bytes.size());
    EXPECT_EQ(topLevelBytes(r), bytes.size()) << items << r.dump(2);
    EXPECT_EQ(r["truncated"], 0);
    if (items == 0) continue;
    // A nested field's bytes = its tags and length prefixes + its children.
    uint64_t items_bytes = 0;
    uint64_t items_content = 0;
    for (const wt::Item& it : o.items()) {
      items_content += it.ByteSizeLong();
      items_bytes += 1 + varintSize(it.ByteSizeLong()) + it.ByteSizeLong();
    }
    EXPECT_EQ(field(r, "3")["bytes"].get<uint64_t>(), items_bytes);
    uint64_t children = 0;
    for (const char* c : {"3.1", "3.2", "3.3"}) children += field(r, c)["bytes"].get<uint64_t>();
    EXPECT_EQ(children, items_content);
    // Largest first.
    uint64_t prev = UINT64_MAX;
    for (const json& f : r["fields"]) {
      EXPECT_LE(f["bytes"].get<uint64_t>(), prev);
      prev = f["bytes"].get<uint64_t>();
    }
  }
}

TEST(WireProfileTest, StringThatIsNotAMessageStaysALeaf) {
  wt::Scalars m;
  m.set_text("hello world, this is a plain string and no message at all");
  m.set_blob(std::string());  // empty: not serialized in proto3
  WireProfile p;
  addMessage(p, m);
  const json r = p.toJson(nullptr, kEcho, true);
  EXPECT_EQ(field(r, "6")["nested"], false);
  EXPECT_EQ(field(r, "6")["wire_type"], "len");
  EXPECT_EQ(r["distinct_fields"], 1) << r.dump(2);
  EXPECT_EQ(r["max_depth"], 1);

  // Strings a real encoder never writes as messages: reserved field numbers,
  // group tags, trailing partial fields.
  for (const std::string& s : {std::string("\xC0\xB8\x09\x01", 4) /* field 19000 */, std::string("\x0B\x0C", 2),
                               std::string("\x08\x01\x08", 3), std::string("\x0A\x05" "ab", 4)}) {
    wt::Scalars x;
    x.set_blob(s);
    WireProfile q;
    addMessage(q, x);
    const json rq = q.toJson(nullptr, kEcho, true);
    EXPECT_EQ(field(rq, "7")["nested"], false) << rq.dump(2);
    EXPECT_EQ(rq["distinct_fields"], 1);
  }
}

TEST(WireProfileTest, PrintableTextThatWouldParseStaysALeaf) {
  // "xAxBxC..." parses as repeated varint field 15 (tag 'x' = 0x78), and
  // " !" as field 4 = 33: text, not messages.
  for (const std::string& text : {std::string("xAxBxCxDxExFxGxH"), std::string(" ! ! ! !")}) {
    wt::Scalars m;
    m.set_blob(text);
    WireProfile p;
    addMessage(p, m);
    const json r = p.toJson(nullptr, kEcho, true);
    EXPECT_EQ(field(r, "7")["nested"], false) << text << r.dump(2);
    EXPECT_EQ(r["distinct_fields"], 1) << text;
  }
}

TEST(WireProfileTest, BytesThatParseAreCountedNestedTheDocumentedAmbiguity) {
  // Order.raw holds a serialized Price: without a schema it is a message.
  wt::Price price;
  price.set_units(12345);
  price.set_nanos(6789);
  wt::Order o;
  o.set_raw(price.SerializeAsString());
  WireProfile p;
  addMessage(p, o);
  const json r = p.toJson(nullptr, kPlace, true);
  EXPECT_EQ(field(r, "7")["nested"], true);
  EXPECT_FALSE(field(r, "7.1").is_null());
  EXPECT_FALSE(field(r, "7.2").is_null());
  EXPECT_EQ(r["max_depth"], 2);
}

TEST(WireProfileTest, NestingStopsAtMaxDepth) {
  // 20 levels of field 1 wrapping field 1, innermost a varint.
  std::string inner = std::string("\x08\x07", 2);
  for (int i = 0; i < 20; ++i) {
    std::string outer = "\x0A";
    outer += static_cast<char>(inner.size());  // stays < 128
    outer += inner;
    inner = outer;
  }
  WireProfile p;
  addBytes(p, inner);
  const json r = p.toJson(nullptr, kEcho, true);
  EXPECT_EQ(r["max_depth"], WireProfile::kMaxDepth);
  EXPECT_EQ(r["malformed"], 0);
  EXPECT_EQ(r["distinct_fields"], WireProfile::kMaxDepth);
  EXPECT_EQ(topLevelBytes(r), inner.size());
}

// --- bounds -----------------------------------------------------------------

TEST(WireProfileTest, PathCapCountsTheRestAsOther) {
  wt::Scalars m;
  google::protobuf::UnknownFieldSet* unknown = m.GetReflection()->MutableUnknownFields(&m);
  for (int n = 1; n <= 300; ++n) unknown->AddVarint(1000 + n, 1);
  const std::string bytes = m.SerializeAsString();
  WireProfile p;
  addBytes(p, bytes);
  const json r = p.toJson(nullptr, kEcho, true);
  EXPECT_EQ(r["distinct_fields"], WireProfile::kMaxPaths);
  EXPECT_EQ(r["fields"].size(), WireProfile::kMaxJsonFields);
  EXPECT_EQ(r["unlisted_fields"], WireProfile::kMaxPaths - WireProfile::kMaxJsonFields);
  // Each field: 2-byte tag + 1-byte value; 44 went to "other".
  EXPECT_EQ(r["other_fields_bytes"], (300 - WireProfile::kMaxPaths) * 3);
  EXPECT_EQ(p.otherFieldsBytes() + WireProfile::kMaxPaths * 3, bytes.size());

  // A full table still records known paths, and a nested field whose path
  // does not fit is counted once (with its content) and not descended into.
  wt::Order o = sampleOrder(2);
  addMessage(p, o);
  const json r2 = p.toJson(nullptr, kPlace, true);
  EXPECT_EQ(r2["distinct_fields"], WireProfile::kMaxPaths);
  EXPECT_EQ(r2["other_fields_bytes"].get<uint64_t>(), (300 - WireProfile::kMaxPaths) * 3 + o.ByteSizeLong());

  // Merging respects the cap the same way.
  WireProfile q;
  q.merge(p);
  EXPECT_EQ(q.toJson(nullptr, kPlace, true), r2);
}

TEST(WireProfileTest, FieldBudgetBoundsWorkPerMessage) {
  wt::Scalars m;
  for (int i = 0; i < 10000; ++i) m.add_unpacked_ints(1);
  WireProfile p;
  addMessage(p, m);
  const json r = p.toJson(nullptr, kEcho, true);
  EXPECT_EQ(r["messages"], 1);
  EXPECT_EQ(r["truncated"], 1);
  EXPECT_EQ(field(r, "2")["occurrences"], WireProfile::kMaxFieldsPerMessage);
}

// --- malformed input --------------------------------------------------------

TEST(WireProfileTest, MalformedInputCountedNeverRecorded) {
  const std::vector<std::string> bad = {
      std::string("\x08\x80", 2),                            // truncated varint
      std::string("\x08\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F", 11),  // varint past 64 bits
      std::string("\x0A\x05" "abc", 5),                      // length beyond end
      std::string("\x0A\xFF\xFF\xFF\xFF\x0F", 6),            // huge length
      std::string("\x00\x01", 2),                            // field number 0
      std::string("\x0B\x08\x01\x0C", 4),                    // group
      std::string("\x0E\x00", 2),                            // wire type 6
      std::string("\x0F\x00", 2),                            // wire type 7
      std::string("\x09\x01\x02\x03", 4),                    // fixed64 cut short
      std::string("\x0D\x01", 2),                            // fixed32 cut short
      std::string("\x80\x80\x80\x80\x80\x80\x01", 7),        // tag longer than 5 bytes
      std::string("\x08", 1),                                // tag without value
  };
  WireProfile p;
  for (const std::string& b : bad) addBytes(p, b);
  const json r = p.toJson(nullptr, kEcho, true);
  EXPECT_EQ(r["malformed"], bad.size());
  EXPECT_EQ(r["messages"], 0);
  EXPECT_EQ(r["bytes"], 0);
  EXPECT_EQ(r["distinct_fields"], 0);
  // Empty is a valid (empty) message.
  p.add(nullptr, 0);
  EXPECT_EQ(p.messages(), 1u);
}

TEST(WireProfileTest, RandomAndMutatedBytesNeverCrash) {
  std::mt19937_64 rng(20240601);
  WireProfile p;
  uint64_t adds = 0;
  std::vector<uint8_t> buf;
  for (int i = 0; i < 5000; ++i) {
    buf.resize(rng() % 300);
    for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());
    p.add(buf.data(), buf.size());
    ++adds;
  }
  // Valid messages with bytes flipped, truncated or extended.
  const std::string good = sampleOrder(6).SerializeAsString();
  for (int i = 0; i < 5000; ++i) {
    std::string m = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) m[rng() % m.size()] = static_cast<char>(rng());
    if (rng() % 3 == 0) m.resize(rng() % m.size());
    addBytes(p, m);
    ++adds;
  }
  EXPECT_EQ(p.messages() + p.malformed(), adds);
  EXPECT_GT(p.malformed(), 0u);
  EXPECT_GT(p.messages(), 0u);
  EXPECT_LE(p.distinctPaths(), WireProfile::kMaxPaths);
  EXPECT_LE(p.maxDepth(), WireProfile::kMaxDepth);
  const json r = p.toJson(nullptr, kPlace, true);
  EXPECT_LE(r["fields"].size(), WireProfile::kMaxJsonFields);
}

// --- compressibility --------------------------------------------------------

TEST(WireProfileTest, CompressibilityOfRepetitiveAndRandomMessages) {
  wt::Scalars repetitive;
  std::string text;
  while (text.size() < 32 * 1024) text += "order-line:widget;qty=1;";
  repetitive.set_text(text);
  WireProfile a;
  addMessage(a, repetitive);
  const json ra = a.toJson(nullptr, kEcho, true);
  EXPECT_EQ(ra["compression"]["sampled_bytes"], repetitive.ByteSizeLong());
  EXPECT_LT(ra["compression"]["ratio"].get<double>(), 0.2) << ra["compression"].dump();

  std::mt19937_64 rng(7);
  std::string noise(32 * 1024, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  wt::Scalars random;
  random.set_blob(noise);
  WireProfile b;
  addMessage(b, random);
  const double ratio = b.toJson(nullptr, kEcho, true)["compression"]["ratio"].get<double>();
  EXPECT_GT(ratio, 0.98);
  EXPECT_LT(ratio, 1.02);

  // Only the first kCompressionSampleBytes of a message are sampled.
  std::string big(3 * WireProfile::kCompressionSampleBytes, 'o');  // 'o' = wire type 7
  WireProfile c;
  c.add(reinterpret_cast<const uint8_t*>(big.data()), big.size());  // not protobuf: still sampled
  EXPECT_EQ(c.sampledBytes(), WireProfile::kCompressionSampleBytes);
  EXPECT_EQ(c.malformed(), 1u);
  EXPECT_TRUE(WireProfile().toJson(nullptr, kEcho, true)["compression"]["ratio"].is_null());
}

TEST(WireProfileTest, CompressionSamplesEveryMessageThenOneInN) {
  const std::string m(WireProfile::kCompressionSampleBytes, 'o');
  const uint64_t warmup = WireProfile::kCompressionWarmupBytes / m.size();
  WireProfile p;
  for (uint64_t i = 0; i < warmup; ++i) addBytes(p, m);
  EXPECT_EQ(p.sampledMessages(), warmup);
  for (uint32_t i = 0; i < 3 * WireProfile::kCompressionEvery; ++i) addBytes(p, m);
  EXPECT_EQ(p.sampledMessages(), warmup + 3);
  EXPECT_EQ(p.sampledBytes(), (warmup + 3) * m.size());
  EXPECT_EQ(p.toJson(nullptr, kEcho, true)["compression"]["sampled_messages"], warmup + 3);
}

// --- merge ------------------------------------------------------------------

TEST(WireProfileTest, MergeAddsUp) {
  wt::Scalars s;
  for (int v : {1, 2, 3}) s.add_unpacked_ints(v);
  s.set_text("some text");
  const std::vector<std::string> msgs = {sampleOrder(3).SerializeAsString(), s.SerializeAsString(),
                                         sampleOrder(1).SerializeAsString(), std::string("\x0A\x09", 2)};
  WireProfile a, b, all;
  for (size_t i = 0; i < msgs.size(); ++i) {
    addBytes(i % 2 ? b : a, msgs[i]);
    addBytes(all, msgs[i]);
  }
  WireProfile merged;
  merged.merge(a);
  merged.merge(b);
  EXPECT_EQ(merged.toJson(nullptr, kPlace, true), all.toJson(nullptr, kPlace, true));
  a.merge(b);
  EXPECT_EQ(a.toJson(nullptr, kPlace, true), all.toJson(nullptr, kPlace, true));

  WireProfile twice = all;
  twice.merge(twice);
  const json t = twice.toJson(nullptr, kPlace, true);
  const json o = all.toJson(nullptr, kPlace, true);
  EXPECT_EQ(t["messages"], 2 * o["messages"].get<uint64_t>());
  EXPECT_EQ(t["malformed"], 2);
  EXPECT_EQ(field(t, "3")["bytes"], 2 * field(o, "3")["bytes"].get<uint64_t>());
  EXPECT_EQ(field(t, "2")["packing_would_save_tags"], 4);
}

// --- descriptor names -------------------------------------------------------

std::string tempPath(const std::string& name) { return testing::TempDir() + "wire_profile_test_" + name; }

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(DescriptorNamesTest, ResolvesFieldNamesThroughProtocDescriptorSet) {
  std::string error;
  auto names = DescriptorNames::load(GRPCSCOPE_WIRE_TEST_DESCRIPTOR_SET, &error);
  ASSERT_NE(names, nullptr) << error;
  EXPECT_TRUE(error.empty());
  EXPECT_EQ(names->methodCount(), 2u);
  EXPECT_EQ(names->fileCount(), 2u);  // wire_test.proto + google/protobuf/timestamp.proto
  EXPECT_EQ(names->fieldName(kPlace, true, "3"), "items");
  EXPECT_EQ(names->fieldName(kPlace, true, "3.2"), "items.price");
  EXPECT_EQ(names->fieldName(kPlace, true, "3.2.1"), "items.price.units");
  EXPECT_EQ(names->fieldName(kPlace, true, "4.1"), "created.seconds");  // through the import
  EXPECT_EQ(names->fieldName(kPlace, true, "5.1.1.2"), "deep.child.inner.stamp");
  EXPECT_EQ(names->fieldName(kPlace, true, "6.1"), "labels.key");
  EXPECT_EQ(names->fieldName(kPlace, false, "2"), "total_units");
  EXPECT_EQ(names->fieldName("grpcscope.wiretest.Orders/Place", false, "1"), "order_id");
  EXPECT_EQ(names->fieldName(kEcho, true, "300"), "unpacked_far");
  EXPECT_EQ(names->fieldName(kPlace, true, "7"), "raw");
  EXPECT_EQ(names->fieldName(kPlace, true, "7.1"), "");  // below a bytes field
  EXPECT_EQ(names->fieldName(kPlace, true, "99"), "");
  EXPECT_EQ(names->fieldName(kPlace, true, "3.x"), "");
  EXPECT_EQ(names->fieldName(kPlace, true, ""), "");
  EXPECT_EQ(names->fieldName("/grpcscope.wiretest.Orders/Nope", true, "1"), "");
  EXPECT_EQ(names->fieldName("/other.Service/Place", true, "1"), "");

  // The report carries the names.
  WireProfile p;
  addMessage(p, sampleOrder(2));
  const json r = p.toJson(names.get(), kPlace, true);
  EXPECT_EQ(field(r, "3.2.1")["name"], "items.price.units");
  EXPECT_EQ(field(r, "1")["name"], "id");
  EXPECT_EQ(field(r, "6.2")["name"], "labels.value");
  EXPECT_FALSE(p.toJson(nullptr, kPlace, true)["fields"][0].contains("name"));
}

TEST(DescriptorNamesTest, ConcurrentReadsAgree) {
  auto names = DescriptorNames::load(GRPCSCOPE_WIRE_TEST_DESCRIPTOR_SET, nullptr);
  ASSERT_NE(names, nullptr);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (names->fieldName(kPlace, true, "3.2.1") != "items.price.units") ++wrong;
        if (names->fieldName(kPlace, true, "4.2") != "created.nanos") ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(DescriptorNamesTest, ClearErrorForMissingFile) {
  std::string error;
  const std::string path = tempPath("does_not_exist.desc");
  EXPECT_EQ(DescriptorNames::load(path, &error), nullptr);
  EXPECT_EQ(error, "descriptor set " + path + ": cannot open (No such file or directory)");
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(DescriptorNamesTest, ClearErrorForFilesThatAreNotDescriptorSets) {
  const std::string text = tempPath("not_a_set.txt");
  writeFile(text, "syntax = \"proto3\";\nmessage Foo { int32 a = 1; }\n");
  const std::string empty = tempPath("empty.desc");
  writeFile(empty, "");
  const std::string other_message = tempPath("a_message.bin");
  writeFile(other_message, sampleOrder(3).SerializeAsString());
  for (const std::string& path : {text, empty, other_message, testing::TempDir()}) {
    std::string error;
    EXPECT_EQ(DescriptorNames::load(path, &error), nullptr) << path;
    EXPECT_EQ(error.rfind("descriptor set " + path + ": ", 0), 0u) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    if (path != testing::TempDir()) {
      EXPECT_NE(error.find("not a FileDescriptorSet"), std::string::npos) << error;
    } else {
      EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
    }
  }
}

TEST(DescriptorNamesTest, ClearErrorForUnresolvedImport) {
  google::protobuf::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(readFile(GRPCSCOPE_WIRE_TEST_DESCRIPTOR_SET)));
  // As protoc writes it without --include_imports: the Timestamp file is missing.
  google::protobuf::FileDescriptorSet without;
  for (const auto& f : set.file()) {
    if (f.name() != "google/protobuf/timestamp.proto") *without.add_file() = f;
  }
  ASSERT_EQ(without.file_size(), 1);
  const std::string path = tempPath("no_imports.desc");
  writeFile(path, without.SerializeAsString());
  std::string error;
  EXPECT_EQ(DescriptorNames::load(path, &error), nullptr);
  EXPECT_EQ(error, "descriptor set " + path +
                       ": wire_test.proto imports google/protobuf/timestamp.proto, which the set does not contain "
                       "(write the set with protoc --include_imports)");

  // Imports listed after the importing file (a concatenation of sets) are fine.
  google::protobuf::FileDescriptorSet reversed;
  for (int i = set.file_size() - 1; i >= 0; --i) *reversed.add_file() = set.file(i);
  *reversed.add_file() = set.file(0);  // an identical duplicate is tolerated
  const std::string rpath = tempPath("reversed.desc");
  writeFile(rpath, reversed.SerializeAsString());
  auto names = DescriptorNames::load(rpath, &error);
  ASSERT_NE(names, nullptr) << error;
  EXPECT_EQ(names->fieldName(kPlace, true, "4.1"), "created.seconds");

  // A type the pool cannot resolve is named.
  google::protobuf::FileDescriptorSet broken;
  *broken.add_file() = set.file(0);  // timestamp.proto comes first in protoc's output
  *broken.add_file() = set.file(1);
  for (auto& f : *broken.mutable_file()) {
    for (auto& m : *f.mutable_message_type()) {
      if (m.name() == "Item") m.mutable_field(1)->set_type_name(".grpcscope.wiretest.Missing");
    }
  }
  const std::string bpath = tempPath("broken.desc");
  writeFile(bpath, broken.SerializeAsString());
  EXPECT_EQ(DescriptorNames::load(bpath, &error), nullptr);
  EXPECT_NE(error.find("grpcscope.wiretest.Missing"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

// --- cost (measured and printed, not asserted) ------------------------------

TEST(WireProfileTest, CostOfAddIsPrinted) {
  // A typical ~1 KiB message: an order with thirty items and a note.
  wt::Order o = sampleOrder(36);
  o.set_raw("customer note: please deliver to the back door, ring twice; fragile items inside, keep upright.");
  const std::string kib = o.SerializeAsString();
  std::mt19937_64 rng(3);
  std::string big(64 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 7 == 0 ? rng() : 'a' + i % 13);
  wt::Scalars bigmsg;
  bigmsg.set_blob(big);
  const std::string bigbytes = bigmsg.SerializeAsString();

  using Clock = std::chrono::steady_clock;
  auto usPerAdd = [](WireProfile& p, const std::string& bytes, uint64_t iterations) {
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < iterations; ++i) addBytes(p, bytes);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / static_cast<double>(iterations);
  };
  // Warm-up phase: every message is compressed. Then one in kCompressionEvery.
  WireProfile p;
  addBytes(p, kib);  // paths exist, zlib state exists
  const uint64_t warm_msgs = WireProfile::kCompressionWarmupBytes / kib.size() - 10;
  const double warm_us = usPerAdd(p, kib, warm_msgs);
  const double steady_us = usPerAdd(p, kib, 50000);
  WireProfile big_profile;
  const double big_warm_us = usPerAdd(big_profile, bigbytes, 16);
  const double big_steady_us = usPerAdd(big_profile, bigbytes, 160);

  WireProfile one;
  addBytes(one, kib);
  const json r = one.toJson(nullptr, kPlace, true);
  std::printf("[ timing ] WireProfile::add, %zu-byte message (%zu paths, depth %d, gzip-1 ratio %.2f):\n"
              "[ timing ]   compressed (warm-up, every message): %.2f us/message\n"
              "[ timing ]   steady state (1 in %u compressed):   %.2f us/message\n",
              kib.size(), static_cast<size_t>(r["distinct_fields"]), one.maxDepth(),
              r["compression"]["ratio"].get<double>(), warm_us, WireProfile::kCompressionEvery, steady_us);
  std::printf("[ timing ] WireProfile::add, %zu-byte message: %.1f us compressed, %.1f us steady state\n",
              bigbytes.size(), big_warm_us, big_steady_us);
  RecordProperty("add_1kib_compressed_ns", static_cast<int>(warm_us * 1000));
  RecordProperty("add_1kib_steady_ns", static_cast<int>(steady_us * 1000));
}

}  // namespace
}  // namespace grpcscope
