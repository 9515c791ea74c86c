#include <gtest/gtest.h>

#include <string>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// Field 1: `blob` bytes of 'x'; field 20: `elements` varints, unpacked (one tag each).
std::string message(size_t blob, int elements) {
  std::string m;
  m += '\x0a';
  size_t n = blob;
  while (n >= 0x80) {
    m += static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  m += static_cast<char>(n);
  m += std::string(blob, 'x');
  for (int i = 0; i < elements; ++i) {
    m += "\xa0\x01";  // field 20, varint
    m += static_cast<char>(1 + i % 100);
  }
  return m;
}

void sample(MethodStats& m, const std::string& msg, int times) {
  for (int i = 0; i < times; ++i) m.wire[kRequest].add(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
}

TEST(SerializationUnpackedRepeatedField, FiresWithTheBytesPackingSaves) {
  Inputs in;
  sample(in.current.stats.methods["pkg.Svc/Put"], message(16, 100), 8);
  auto found = in.run(&serializationUnpackedRepeatedField);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "serialization.unpacked_repeated_field");
  EXPECT_EQ(f.layer, Layer::kSerialization);
  EXPECT_EQ(f.scope.at("field"), "20");
  EXPECT_EQ(f.evidence["field_path"], "20");
  EXPECT_EQ(f.evidence["wire_type"], "varint");
  EXPECT_EQ(f.evidence["messages_with_field_unpacked"], 8);
  EXPECT_GT(f.evidence["packing_would_save_bytes"].get<uint64_t>(), 8u * 150);
  EXPECT_GT(f.evidence["packing_would_save_share"].get<double>(), 0.4);
  EXPECT_NE(f.recommendation.find("[packed = true]"), std::string::npos);
  EXPECT_NE(f.recommendation.find("features.repeated_field_encoding = PACKED"), std::string::npos);
}

TEST(SerializationUnpackedRepeatedField, QuietWithFewMessagesOrASmallSaving) {
  {
    Inputs in;
    sample(in.current.stats.methods["pkg.Svc/Put"], message(16, 100), 7);  // one message short
    EXPECT_TRUE(in.run(&serializationUnpackedRepeatedField).empty());
  }
  {
    Inputs in;  // packing saves about 2 % of these messages
    sample(in.current.stats.methods["pkg.Svc/Put"], message(10'000, 100), 8);
    EXPECT_TRUE(in.run(&serializationUnpackedRepeatedField).empty());
  }
}

}  // namespace
}  // namespace grpcscope::findings
