#include "analysis/grpc_codes.h"

#include <array>
#include <charconv>

namespace grpcscope {
namespace {

constexpr std::array<const char*, kGrpcStatusCount> kStatusNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

constexpr std::array<const char*, 14> kH2Errors = {
    "NO_ERROR",       "PROTOCOL_ERROR", "INTERNAL_ERROR",    "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",  "FRAME_SIZE_ERROR", "REFUSED_STREAM",  "CANCEL",             "COMPRESSION_ERROR",
    "CONNECT_ERROR",  "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
};

}  // namespace

const char* grpcStatusName(int code) {
  if (code < 0 || code >= kGrpcStatusCount) return kStatusNames[2];
  return kStatusNames[static_cast<size_t>(code)];
}

int parseGrpcStatus(std::string_view value) {
  int code = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), code);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) return 2;
  if (code < 0 || code >= kGrpcStatusCount) return 2;
  return code;
}

int grpcStatusForReset(uint32_t code) {
  switch (code) {
    case 0x7: return 14;  // REFUSED_STREAM -> UNAVAILABLE
    case 0x8: return 1;   // CANCEL -> CANCELLED
    case 0xb: return 8;   // ENHANCE_YOUR_CALM -> RESOURCE_EXHAUSTED
    case 0xc: return 7;   // INADEQUATE_SECURITY -> PERMISSION_DENIED
    default: return 13;   // everything else -> INTERNAL
  }
}

const char* h2ErrorName(uint32_t code) {
  // Codes outside RFC 9113's registry are one bucket everywhere (label_bounds.h).
  return code < kH2Errors.size() ? kH2Errors[code] : "unknown";
}

double parseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return -1;
  uint64_t n = 0;
  std::string_view digits = value.substr(0, value.size() - 1);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return -1;
  double v = static_cast<double>(n);
  switch (value.back()) {
    case 'H': return v * 3600;
    case 'M': return v * 60;
    case 'S': return v;
    case 'm': return v / 1e3;
    case 'u': return v / 1e6;
    case 'n': return v / 1e9;
    default: return -1;
  }
}

uint64_t receiveLimitFromMessage(std::string_view m) {
  // "Received message larger than max (5242885 vs. 4194304)"
  if (m.find("larger than max (") == std::string_view::npos) return 0;
  size_t vs = m.find(" vs. ");
  if (vs == std::string_view::npos) return 0;
  std::string_view rest = m.substr(vs + 5);
  uint64_t limit = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), limit);
  if (ec != std::errc() || ptr == rest.data()) return 0;
  return limit;
}

}  // namespace grpcscope
