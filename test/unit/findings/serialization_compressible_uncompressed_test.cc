#include <gtest/gtest.h>

#include <string>

#include "snapshot_builder.h"

namespace grpcscope::findings {
namespace {

using testing::Inputs;

// A message with field 1 (bytes) holding `body`.
std::string message(const std::string& body) {
  std::string m = "\x0a";
  size_t n = body.size();
  while (n >= 0x80) {
    m += static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  m += static_cast<char>(n);
  return m + body;
}

std::string text(size_t n) {
  std::string s;
  while (s.size() < n) s += "the quick brown fox jumps over the lazy dog; ";
  s.resize(n);
  return s;
}

std::string noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

void fill(MethodStats& m, int dir, const std::string& body, uint64_t messages) {
  std::string msg = message(body);
  for (int i = 0; i < 8; ++i) m.wire[dir].add(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  m.messages[dir] = messages;
  m.message_bytes[dir] = messages * msg.size();
  for (uint64_t i = 0; i < messages; ++i) m.message_size[dir].observe(static_cast<double>(msg.size()));
}

TEST(SerializationCompressibleUncompressed, FiresOnLargeTextSentPlain) {
  Inputs in;
  fill(in.last60s.stats.methods["pkg.Svc/Report"], kResponse, text(32 * 1024), 100);
  in.hop(in.last60s, Hop::kDownstream).tcp_rtt.observe(0.020);  // clients 20 ms away
  auto found = in.run(&serializationCompressibleUncompressed);
  ASSERT_EQ(found.size(), 1u);
  const Finding& f = found[0];
  EXPECT_EQ(f.id, "serialization.compressible_uncompressed");
  EXPECT_EQ(f.layer, Layer::kSerialization);
  EXPECT_EQ(f.severity, Severity::kWarning);
  EXPECT_NEAR(f.evidence["network_rtt_s"].get<double>(), 0.020, 0.0003);
  EXPECT_EQ(f.scope.at("direction"), "response");
  EXPECT_LT(f.evidence["compressed_size_share"].get<double>(), 0.2);
  EXPECT_GT(f.evidence["would_save_bytes_per_s"].get<double>(), 0);
  EXPECT_EQ(f.evidence["sampled_messages"], 8);
  for (const char* option : {"grpc.UseCompressor(gzip.Name)", "set_compression_algorithm(GRPC_COMPRESS_GZIP)",
                             "grpc.Compression.Gzip", "withCompression(\"gzip\")", "grpc.default_compression_algorithm"}) {
    EXPECT_NE(f.recommendation.find(option), std::string::npos) << option;
  }
}

TEST(SerializationCompressibleUncompressed, InfoOnALan) {
  Inputs in;
  fill(in.last60s.stats.methods["pkg.Svc/Report"], kResponse, text(32 * 1024), 100);
  in.hop(in.last60s, Hop::kUpstream).ping_rtt.observe(0.0049);  // just under 5 ms
  auto found = in.run(&serializationCompressibleUncompressed);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].severity, Severity::kInfo);
}

TEST(SerializationCompressibleUncompressed, QuietOnIncompressibleOrSmallOrCompressedOrFew) {
  {
    Inputs in;  // random bytes: no gain
    fill(in.last60s.stats.methods["pkg.Svc/Blob"], kRequest, noise(32 * 1024, 7), 100);
    EXPECT_TRUE(in.run(&serializationCompressibleUncompressed).empty());
  }
  {
    Inputs in;  // small messages
    fill(in.last60s.stats.methods["pkg.Svc/Small"], kRequest, text(7 * 1024), 1000);
    EXPECT_TRUE(in.run(&serializationCompressibleUncompressed).empty());
  }
  {
    Inputs in;  // compressed already (the flag on most messages)
    MethodStats& m = in.last60s.stats.methods["pkg.Svc/Report"];
    fill(m, kResponse, text(32 * 1024), 100);
    m.compressed_messages[kResponse] = 11;
    EXPECT_TRUE(in.run(&serializationCompressibleUncompressed).empty());
  }
  {
    Inputs in;  // 19 messages in the window
    fill(in.last60s.stats.methods["pkg.Svc/Report"], kResponse, text(64 * 1024), 19);
    EXPECT_TRUE(in.run(&serializationCompressibleUncompressed).empty());
  }
}

}  // namespace
}  // namespace grpcscope::findings
