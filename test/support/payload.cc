#include "support/payload.h"

namespace grpcscope::testsupport {

namespace {
// A 251-byte period (prime) mixed with the seed: cheap, and any misplaced
// 4 KiB/16 KiB frame-sized chunk shows up as a mismatch.
inline char byteAt(size_t i, uint32_t seed) {
  return static_cast<char>((i % 251) ^ (seed * 131u + (i / 251) * 7u));
}
}  // namespace

void fillPayload(char* out, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; ++i) out[i] = byteAt(i, seed);
}

std::string makePayload(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  fillPayload(s.data(), n, seed);
  return s;
}

size_t firstPayloadMismatch(std::string_view data, uint32_t seed) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != byteAt(i, seed)) return i;
  }
  return std::string_view::npos;
}

}  // namespace grpcscope::testsupport
