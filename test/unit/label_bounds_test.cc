// The bounds on peer-chosen values (src/analysis/label_bounds.h): error code
// buckets, safe texts, the capped text counter, TLS labels.
#include <gtest/gtest.h>

#include <string>

#include "analysis/grpc_codes.h"
#include "analysis/label_bounds.h"

namespace grpcscope {
namespace {

TEST(LabelBoundsTest, RegisteredErrorCodesKeepTheirNameOthersAreUnknown) {
  // RFC 9113 section 7: 0x0..0xd.
  EXPECT_STREQ(h2ErrorName(0x0), "NO_ERROR");
  EXPECT_STREQ(h2ErrorName(0x8), "CANCEL");
  EXPECT_STREQ(h2ErrorName(0xb), "ENHANCE_YOUR_CALM");
  EXPECT_STREQ(h2ErrorName(0xd), "HTTP_1_1_REQUIRED");
  for (uint32_t code : {0xeu, 0xfu, 0x100u, 0x12345u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    EXPECT_STREQ(h2ErrorName(code), "unknown") << code;
    EXPECT_EQ(h2ErrorBucket(code), kH2UnknownErrorBucket) << code;
  }
  for (uint32_t code = 0; code < kH2ErrorCodes; ++code) EXPECT_EQ(h2ErrorBucket(code), code);
  // The unknown bucket's own index names itself "unknown" too (metrics and JSON iterate buckets).
  EXPECT_STREQ(h2ErrorName(static_cast<uint32_t>(kH2UnknownErrorBucket)), "unknown");
}

TEST(LabelBoundsTest, BoundedTextIsPrintableAsciiAndCut) {
  EXPECT_EQ(boundedText("too_many_pings", 64), "too_many_pings");
  EXPECT_EQ(boundedText(std::string("a\0b\n\x7f\xff\xc3\xa9z", 9), 64), "a?b?????z");
  EXPECT_EQ(boundedText(std::string(1000, 'x'), 64).size(), 64u);
  EXPECT_EQ(boundedText("", 64), "");
  // Cutting never leaves half a UTF-8 sequence: non-ASCII bytes are gone first.
  for (char ch : boundedText("\xe2\x82\xac\xe2\x82\xac", 4)) EXPECT_EQ(ch, '?');
}

TEST(LabelBoundsTest, UserinfoIsDroppedFromAnAuthority) {
  EXPECT_EQ(withoutUserinfo("user:secret@example.com:443"), "example.com:443");
  EXPECT_EQ(withoutUserinfo("a@b@host"), "host");
  EXPECT_EQ(withoutUserinfo("example.com"), "example.com");
  EXPECT_EQ(withoutUserinfo(""), "");
}

TEST(LabelBoundsTest, TlsLabelsComeFromAFixedSet) {
  EXPECT_STREQ(tlsVersionLabel("TLSv1.3"), "TLSv1.3");
  EXPECT_STREQ(tlsVersionLabel("TLSv1.2"), "TLSv1.2");
  EXPECT_STREQ(tlsVersionLabel("made-up"), "other");
  EXPECT_STREQ(alpnLabel(""), "none");
  EXPECT_STREQ(alpnLabel("h2"), "h2");
  EXPECT_STREQ(alpnLabel("http/1.1"), "http/1.1");
  EXPECT_STREQ(alpnLabel("h2\xff"), "other");
  EXPECT_STREQ(alpnLabel("grpc-exp"), "other");
}

TEST(LabelBoundsTest, BoundedCountsKeepsTheFirstTextsAndCountsTheRestAsOther) {
  BoundedCounts c(3, 8);
  for (int i = 0; i < 1000; ++i) c.add("text-" + std::to_string(i));
  c.add("text-0", 5);
  EXPECT_EQ(c.size(), 4u);  // 3 texts + "other"
  EXPECT_EQ(c.count("text-0"), 6u);
  EXPECT_EQ(c.count("text-1"), 1u);
  EXPECT_EQ(c.count("text-2"), 1u);
  EXPECT_EQ(c.count("other"), 997u);
  uint64_t total = 0;
  for (const auto& [text, n] : c.counts()) {
    EXPECT_LE(text.size(), 8u);
    total += n;
  }
  EXPECT_EQ(total, 1005u) << "nothing is lost, only folded";
}

TEST(LabelBoundsTest, BoundedCountsCutsAndCleansKeys) {
  BoundedCounts c(4, 8);
  c.add("abcdefghijkl");
  c.add("abcdefghXYZ");  // the same first 8 bytes: the same key
  c.add("\xff\xfe");
  EXPECT_EQ(c.count("abcdefgh"), 2u);
  EXPECT_EQ(c.count("??"), 1u);
}

TEST(LabelBoundsTest, APeerTextNamedOtherJoinsTheOverflowWithoutTakingASlot) {
  BoundedCounts c(2, 16);
  c.add("other");
  c.add("a");
  c.add("b");
  c.add("c");
  EXPECT_EQ(c.count("a"), 1u);
  EXPECT_EQ(c.count("b"), 1u);
  EXPECT_EQ(c.count("other"), 2u);
  EXPECT_EQ(c.size(), 3u);
}

TEST(LabelBoundsTest, MergingWorkersKeepsTheBound) {
  BoundedCounts a(4, 16), b(4, 16);
  for (int i = 0; i < 4; ++i) a.add("a" + std::to_string(i));
  b.add("a0");
  for (int i = 0; i < 4; ++i) b.add("b" + std::to_string(i), 2);  // b3 is already "other" in b
  a.merge(b);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_EQ(a.count("a0"), 2u);
  EXPECT_EQ(a.count("other"), 8u);
}

}  // namespace
}  // namespace grpcscope
