// The responses grpcscope writes itself, when the upstream cannot answer:
// gRPC's "Trailers-Only" form (PROTOCOL-HTTP2.md): one HEADERS frame with
// END_STREAM carrying :status 200, content-type and grpc-status/grpc-message.
#pragma once

#include <string>
#include <string_view>

#include "proxy/header_block.h"

namespace grpcscope {

constexpr int kGrpcUnavailable = 14;

// grpc-message is percent-encoded: bytes outside 0x20..0x7E and '%' itself.
std::string percentEncodeGrpcMessage(std::string_view message);

void buildTrailersOnly(HeaderBlock& out, int grpc_status, std::string_view message);
// Trailers for a response whose headers already went out.
void buildStatusTrailers(HeaderBlock& out, int grpc_status, std::string_view message);

}  // namespace grpcscope
