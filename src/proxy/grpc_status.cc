#include "proxy/grpc_status.h"

namespace grpcscope {

std::string percentEncodeGrpcMessage(std::string_view message) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

void buildStatusTrailers(HeaderBlock& out, int grpc_status, std::string_view message) {
  out.clear();
  out.add("grpc-status", std::to_string(grpc_status), NGHTTP2_NV_FLAG_NONE);
  out.add("grpc-message", percentEncodeGrpcMessage(message), NGHTTP2_NV_FLAG_NONE);
}

void buildTrailersOnly(HeaderBlock& out, int grpc_status, std::string_view message) {
  out.clear();
  out.add(":status", "200", NGHTTP2_NV_FLAG_NONE);
  out.add("content-type", "application/grpc", NGHTTP2_NV_FLAG_NONE);
  out.add("grpc-status", std::to_string(grpc_status), NGHTTP2_NV_FLAG_NONE);
  out.add("grpc-message", percentEncodeGrpcMessage(message), NGHTTP2_NV_FLAG_NONE);
}

}  // namespace grpcscope
