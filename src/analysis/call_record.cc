#include "analysis/call_record.h"

#include "analysis/grpc_codes.h"

namespace grpcscope {
namespace {

uint64_t gap(uint64_t from, uint64_t to) { return from && to && to >= from ? to - from : 0; }

// Seconds from the call start to an instant, or null when it did not happen.
nlohmann::json since(uint64_t start, uint64_t at) {
  if (!at || at < start) return nullptr;
  return static_cast<double>(at - start) / 1e9;
}

nlohmann::json side(const CallRecord& r, int dir) {
  return {{"messages", r.messages[dir]}, {"bytes", r.message_bytes[dir]},
          {"compressed_messages", r.compressed_messages[dir]}};
}

}  // namespace

uint64_t CallRecord::proxyNs() const {
  uint64_t ns = gap(start_ns, request_headers_upstream_ns) +
                gap(response_headers_upstream_ns, response_headers_ns) + gap(trailers_upstream_ns, trailers_ns);
  if (request_end_ns != 0 && request_end_ns > start_ns) ns += gap(request_end_ns, request_end_upstream_ns);
  if (answered_by_proxy) ns = durationNs();
  return ns;
}

uint64_t CallRecord::upstreamNs() const { return gap(request_headers_upstream_ns, trailers_upstream_ns); }

nlohmann::json CallRecord::toJson(int64_t wall_time_ms) const {
  nlohmann::json j = {
      {"time_ms", wall_time_ms},
      {"worker", worker},
      {"connection", connection},
      {"stream_id", stream_id},
      {"peer", peer},
      {"method", method},
      {"authority", authority},
      {"content_type", content_type},
      {"user_agent", user_agent},
      {"grpc_encoding", grpc_encoding},
      {"grpc_accept_encoding", grpc_accept_encoding},
      {"grpc_timeout", grpc_timeout},
      {"status", grpcStatusName(status < 0 ? 2 : status)},
      {"status_code", status < 0 ? 2 : status},
      {"status_source", status_source},
      {"grpc_message", grpc_message},
      {"answered_by_proxy", answered_by_proxy},
      {"duration_s", static_cast<double>(durationNs()) / 1e9},
      {"proxy_s", static_cast<double>(proxyNs()) / 1e9},
      {"upstream_s", upstreamNs() ? nlohmann::json(static_cast<double>(upstreamNs()) / 1e9) : nlohmann::json()},
      {"request", side(*this, 0)},
      {"response", side(*this, 1)},
      {"stalls", stalls},
      {"stall_s", static_cast<double>(stall_ns) / 1e9},
      {"timing",
       {{"request_headers_upstream_s", since(start_ns, request_headers_upstream_ns)},
        {"first_request_byte_upstream_s", since(start_ns, first_request_byte_upstream_ns)},
        {"request_end_s", since(start_ns, request_end_ns)},
        {"response_headers_s", since(start_ns, response_headers_ns)},
        {"first_response_message_s", since(start_ns, first_response_message_ns)},
        {"last_response_message_s", since(start_ns, last_response_message_ns)},
        {"trailers_s", since(start_ns, trailers_ns)}}},
  };
  if (reset) {
    // code: the RFC 9113 name or "unknown"; code_value: the number itself (not a key).
    j["reset"] = {{"code", h2ErrorName(reset_code)}, {"code_value", reset_code}, {"by", reset_by}};
  }
  return j;
}

}  // namespace grpcscope
