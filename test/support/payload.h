// Deterministic payload bytes shared by the echo service and the tests, so a
// receiver can check every byte of a large message without keeping a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace grpcscope::testsupport {

// n bytes; byte i depends on i and seed (not periodic at any power of two,
// so a shifted or duplicated chunk is detected).
std::string makePayload(size_t n, uint32_t seed);
void fillPayload(char* out, size_t n, uint32_t seed);

// Index of the first byte that differs from makePayload(data.size(), seed),
// or npos when all match.
size_t firstPayloadMismatch(std::string_view data, uint32_t seed);

}  // namespace grpcscope::testsupport
