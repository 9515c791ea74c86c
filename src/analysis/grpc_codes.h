// Names for gRPC status codes and HTTP/2 error codes, and the mapping of a
// stream reset to the status a gRPC client reports (gRPC's PROTOCOL-HTTP2.md,
// "Errors").
#pragma once

#include <cstdint>
#include <string_view>

namespace grpcscope {

constexpr int kGrpcStatusCount = 17;  // OK .. UNAUTHENTICATED

// "OK", "UNAVAILABLE", ...; codes outside 0..16 are "UNKNOWN".
const char* grpcStatusName(int code);
// Parses a grpc-status value; codes outside 0..16 and junk become 2 (UNKNOWN).
int parseGrpcStatus(std::string_view value);
// The status a gRPC client reports for a stream reset with this HTTP/2 code.
int grpcStatusForReset(uint32_t h2_error_code);
// "NO_ERROR", "CANCEL", ... (RFC 9113 section 7); every code outside that
// registry is "unknown": a peer chooses codes, so a name never carries one.
const char* h2ErrorName(uint32_t code);
// A grpc-timeout value in seconds: 1 to 8 ASCII digits and a unit, H M S m u n
// (gRPC's PROTOCOL-HTTP2.md, "Requests"); -1 when it is not one.
double parseGrpcTimeout(std::string_view value);
// The receive limit M of a "... larger than max (N vs. M)" status message
// (gRPC core and grpc-go word it so); 0 when the message is not one.
uint64_t receiveLimitFromMessage(std::string_view grpc_message);

}  // namespace grpcscope
