// The gRPC deframer against messages split at every byte boundary, several
// messages per chunk, empty messages and captured bodies.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analysis/grpc_deframer.h"

namespace grpcscope {
namespace {

struct Collector {
  bool capture = false;
  std::vector<GrpcMessage> messages;
  std::vector<std::string> bodies;
  bool wantBody(uint32_t, bool) { return capture; }
  void onMessage(const GrpcMessage& m) {
    messages.push_back(m);
    bodies.push_back(m.body ? std::string(reinterpret_cast<const char*>(m.body), m.length) : std::string());
  }
};

std::string frame(const std::string& body, bool compressed = false) {
  std::string out;
  out.push_back(compressed ? 1 : 0);
  uint32_t n = static_cast<uint32_t>(body.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  return out + body;
}

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

TEST(GrpcDeframerTest, EverySplitPointOfTwoMessagesGivesTheSameMessages) {
  std::string a(300, 'a');
  std::string b = "hello";
  std::string wire = frame(a) + frame(b, true);
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    for (size_t cut2 = cut; cut2 <= wire.size(); cut2 += 7) {
      GrpcDeframer d;
      Collector c;
      c.capture = true;
      d.feed(bytes(wire), cut, 1, c);
      d.feed(bytes(wire) + cut, cut2 - cut, 2, c);
      d.feed(bytes(wire) + cut2, wire.size() - cut2, 3, c);
      ASSERT_EQ(c.messages.size(), 2u) << "cuts " << cut << "," << cut2;
      EXPECT_EQ(c.messages[0].length, 300u);
      EXPECT_FALSE(c.messages[0].compressed);
      EXPECT_EQ(c.bodies[0], a);
      EXPECT_EQ(c.messages[1].length, 5u);
      EXPECT_TRUE(c.messages[1].compressed);
      EXPECT_EQ(c.bodies[1], b);
      EXPECT_FALSE(d.midMessage());
    }
  }
}

TEST(GrpcDeframerTest, OneByteAtATimeTimesTheFirstAndLastByte) {
  std::string wire = frame("abcdef");
  GrpcDeframer d;
  Collector c;
  for (size_t i = 0; i < wire.size(); ++i) d.feed(bytes(wire) + i, 1, 100 + i, c);
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].first_ns, 100u);
  EXPECT_EQ(c.messages[0].last_ns, 100u + wire.size() - 1);
  EXPECT_EQ(c.messages[0].body, nullptr);  // not captured
}

TEST(GrpcDeframerTest, ManyMessagesInOneChunkIncludingEmptyOnes) {
  std::string wire;
  for (int i = 0; i < 50; ++i) wire += frame(std::string(static_cast<size_t>(i % 3 == 0 ? 0 : i), 'x'));
  GrpcDeframer d;
  Collector c;
  d.feed(bytes(wire), wire.size(), 7, c);
  ASSERT_EQ(c.messages.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(c.messages[i].length, static_cast<uint32_t>(i % 3 == 0 ? 0 : i));
  EXPECT_EQ(d.messages(), 50u);
}

TEST(GrpcDeframerTest, AStreamThatEndsMidMessageIsSeen) {
  std::string wire = frame(std::string(100, 'y'));
  GrpcDeframer d;
  Collector c;
  d.feed(bytes(wire), 50, 1, c);
  EXPECT_TRUE(d.midMessage());
  EXPECT_TRUE(c.messages.empty());
}

TEST(GrpcDeframerTest, LargeLengthPrefixIsReadBigEndian) {
  std::string prefix = std::string("\0\x01\x02\x03\x04", 5);
  GrpcDeframer d;
  Collector c;
  d.feed(bytes(prefix), prefix.size(), 1, c);
  EXPECT_TRUE(d.midMessage());
  std::string body(0x01020304, 'z');
  d.feed(bytes(body), body.size(), 2, c);
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].length, 0x01020304u);
}

}  // namespace
}  // namespace grpcscope
