#include <gtest/gtest.h>

#include <string>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

std::string lengthDelimited(int field, const std::string& body) {
  std::string m;
  m += static_cast<char>(field << 3 | 2);
  size_t n = body.size();
  while (n >= 0x80) {
    m += static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  m += static_cast<char>(n);
  return m + body;
}

// Field 1: a small name; field 2: a nested message whose field 3 holds `blob` bytes.
std::string message(size_t blob, size_t name = 200) {
  return lengthDelimited(1, std::string(name, 'n')) + lengthDelimited(2, lengthDelimited(3, std::string(blob, 'b')));
}

void sample(MethodStats& m, const std::string& msg, int times) {
  for (int i = 0; i < times; ++i) m.wire[kResponse].add(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
}

TEST(SerializationDominantField, NamesTheDeepestFieldCarryingMostBytes) {
  Inputs in;
  sample(in.current.stats.methods["pkg.Svc/Get"], message(40'000), 8);
  auto found = in.run(&serializationDominantField);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "serialization.dominant_field");
  EXPECT_EQ(f.severity, Severity::kInfo);
  EXPECT_EQ(f.layer, Layer::kSerialization);
  EXPECT_EQ(f.evidence["field_path"], "2.3");
  EXPECT_GT(f.evidence["field_share"].get<double>(), 0.95);
  EXPECT_EQ(f.scope.at("direction"), "response");
  EXPECT_FALSE(f.recommendation.empty());
}

TEST(SerializationDominantField, QuietOnSmallMessagesFewSamplesOrSpreadBytes) {
  {
    Inputs in;  // 15 KiB messages
    sample(in.current.stats.methods["pkg.Svc/Get"], message(15'000), 8);
    EXPECT_TRUE(in.run(&serializationDominantField).empty());
  }
  {
    Inputs in;
    sample(in.current.stats.methods["pkg.Svc/Get"], message(40'000), 7);
    EXPECT_TRUE(in.run(&serializationDominantField).empty());
  }
  {
    Inputs in;  // 78 % in the blob, the rest in the name
    sample(in.current.stats.methods["pkg.Svc/Get"], message(31'200, 8'800), 8);
    EXPECT_TRUE(in.run(&serializationDominantField).empty());
  }
}

}  // namespace
}  // namespace grpcscope::findings
