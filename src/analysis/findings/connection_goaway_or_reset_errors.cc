// connection.goaway_or_reset_errors: a peer ends streams (RST_STREAM) or
// connections (GOAWAY) with an error code other than NO_ERROR or CANCEL
// (RFC 9113 section 7), often enough to matter. Counted where the frame was
// received, so each hop's finding names the peer that sent it (downstream:
// the client; upstream: the server) and a relayed frame is not counted
// twice. Reported per hop and code over the last 60 s (the last 10 s while
// the process is younger), with what the code means and the gRPC status a
// client reports for it (gRPC's doc/PROTOCOL-HTTP2.md, "Errors").
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"
#include "analysis/grpc_codes.h"

namespace grpcscope::findings {
namespace {

constexpr size_t kNoError = 0x0;
constexpr size_t kCancel = 0x8;  // a client's ordinary cancellation, deadline or not
constexpr size_t kEnhanceYourCalm = 0xb;
// RST_STREAM with one code: at least 5 in the window and 1 % of the streams
// opened in it. A busy service may reset a stream now and then; a steady
// share is a cause of errors.
constexpr uint64_t kMinResets = 5;
constexpr double kMinResetShare = 0.01;
// GOAWAY with an error closes a connection and fails what was in flight
// beyond its last stream id: two in the window are no stray event.
constexpr uint64_t kMinGoaways = 2;

const char* meaning(size_t code) {
  switch (code) {
    case 0x1: return "PROTOCOL_ERROR: the sender saw an HTTP/2 protocol violation (a broken or mismatched HTTP/2 stack, or a non-gRPC peer)";
    case 0x2: return "INTERNAL_ERROR: the sender's HTTP/2 implementation failed internally (for a gRPC server often a handler that crashed or a transport bug)";
    case 0x3: return "FLOW_CONTROL_ERROR: the sender saw its flow-control window exceeded";
    case 0x4: return "SETTINGS_TIMEOUT: SETTINGS were not acknowledged in time (a stalled peer)";
    case 0x5: return "STREAM_CLOSED: a frame arrived for a stream already half-closed";
    case 0x6: return "FRAME_SIZE_ERROR: a frame exceeded the size the sender allows (SETTINGS_MAX_FRAME_SIZE)";
    case 0x7: return "REFUSED_STREAM: the sender refused the stream before doing any work on it (at its concurrency limit or shutting down); safe to retry, gRPC clients do so transparently";
    case 0x9: return "COMPRESSION_ERROR: the HPACK header-compression state broke; the connection cannot continue";
    case 0xa: return "CONNECT_ERROR: a CONNECT tunnel failed";
    case 0xb: return "ENHANCE_YOUR_CALM: the sender considers the peer abusive (too many pings, resets or streams, or memory limits)";
    case 0xc: return "INADEQUATE_SECURITY: the TLS version or cipher is below HTTP/2's requirements (RFC 9113 section 9.2)";
    case 0xd: return "HTTP_1_1_REQUIRED: the sender wants HTTP/1.1 for this request";
    default: return "a code outside RFC 9113's registry";
  }
}

const char* fix(size_t code) {
  switch (code) {
    case 0x7:
      return "The server refuses streams: it is at its concurrency limit (see "
             "connection.max_concurrent_streams_saturated) or draining. Raise its limit (Go grpc.MaxConcurrentStreams; "
             "C++/Python grpc.max_concurrent_streams; Java maxConcurrentCallsPerConnection; Node "
             "grpc.max_concurrent_streams) or add capacity.";
    case 0x2:
      return "Look for the failures in the sender's logs at these times (a handler that panicked or aborted, a "
             "transport error); gRPC clients report these streams as INTERNAL.";
    case 0xb:
      return "The sender enforces an abuse limit: a gRPC server's ping policy (see keepalive.too_many_pings), a "
             "rapid-reset or stream limit, or a Node peer's session memory (grpc-node.max_session_memory).";
    case 0x3:
    case 0x6:
    case 0x9:
    case 0x1:
      return "Two HTTP/2 implementations disagree: check that both peers are gRPC stacks (not an HTTP/1 or "
             "gRPC-Web component in between) and up to date.";
    default:
      return "Check the sender's logs at these times.";
  }
}

struct Count {
  Hop hop;
  size_t code;
  uint64_t resets;
  uint64_t goaways;
};

}  // namespace

void connectionGoawayOrResetErrors(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  std::vector<Count> found;
  for (Hop hop : {Hop::kDownstream, Hop::kUpstream}) {
    const HopStats& hs = w.stats.hops[static_cast<int>(hop)];
    // Upstream GOAWAY ENHANCE_YOUR_CALM "too_many_pings" is keepalive.too_many_pings' finding.
    uint64_t too_many_pings = hop == Hop::kUpstream ? hs.goaway_debug.count("too_many_pings") : 0;
    for (size_t code = 0; code <= kH2UnknownErrorBucket; ++code) {
      if (code == kNoError || code == kCancel) continue;
      uint64_t resets = hs.rst[kReceived][code];
      uint64_t goaways = hs.goaway[kReceived][code];
      if (code == kEnhanceYourCalm) goaways -= std::min(goaways, too_many_pings);
      double share = w.stats.streams_opened > 0 ? static_cast<double>(resets) / static_cast<double>(w.stats.streams_opened) : 1;
      bool many_resets = resets >= kMinResets && share >= kMinResetShare;
      bool many_goaways = goaways >= kMinGoaways;
      if (many_resets || many_goaways) found.push_back({hop, code, resets, goaways});
    }
  }
  std::sort(found.begin(), found.end(), [](const Count& a, const Count& b) {
    if (a.resets + a.goaways != b.resets + b.goaways) return a.resets + a.goaways > b.resets + b.goaways;
    return a.hop != b.hop ? a.hop < b.hop : a.code < b.code;  // ties in a fixed order
  });
  if (found.size() > kMaxPerRule) found.resize(kMaxPerRule);
  for (const Count& c : found) {
    const char* name = c.code == kH2UnknownErrorBucket ? "unknown" : h2ErrorName(static_cast<uint32_t>(c.code));
    const char* sender = c.hop == Hop::kDownstream ? "the client" : "the server";
    Finding f;
    f.id = "connection.goaway_or_reset_errors";
    // A GOAWAY with an error ends a connection and the calls on it.
    f.severity = c.goaways >= kMinGoaways ? Severity::kCritical : Severity::kWarning;
    f.layer = Layer::kConnection;
    f.title = std::string(c.hop == Hop::kDownstream ? "Clients" : "The server") + " ends streams or connections with " +
              name;
    f.evidence = {{"error_code", name},
                  {"rst_stream_received", c.resets},
                  {"goaway_received", c.goaways},
                  {"streams_opened", w.stats.streams_opened},
                  {"rst_stream_per_s", rounded(static_cast<double>(c.resets) / w.seconds)},
                  {"window_s", rounded(w.seconds)},
                  {"meaning", meaning(c.code)},
                  {"sent_by", sender}};
    if (w.stats.streams_opened > 0) {
      f.evidence["rst_stream_share"] =
          rounded(static_cast<double>(c.resets) / static_cast<double>(w.stats.streams_opened));
    }
    if (c.code < kH2UnknownErrorBucket) {
      f.evidence["grpc_status_seen_by_client"] = grpcStatusName(grpcStatusForReset(static_cast<uint32_t>(c.code)));
    }
    f.recommendation = fix(c.code);
    f.scope = {{"hop", hopName(c.hop)}, {"error_code", name}};
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
