// serialization.compressible_uncompressed: a method sends large messages
// without compression (no grpc-encoding, the prefix's compressed flag clear)
// while the wire profile's sampled compression (zlib over the first 64 KiB of
// sampled messages, wire_profile.h) shows they would shrink by half or more.
// Per method and direction: messages and bytes of the last 60 s, the ratio
// from the (cumulative) wire profile.
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// Messages below this gain little from compression and cost its per-message
// work (gRPC's doc/compression.md leaves per-message choice to the peer).
constexpr double kLargeMeanBytes = 8 * 1024;
constexpr uint64_t kMinMessages = 20;               // in the window: a pattern, not a few calls
constexpr double kMinWindowBytes = 1 << 20;         // at least 1 MiB moved in the window: worth saving
constexpr double kMaxUncompressedShare = 0.9;       // most messages uncompressed
constexpr uint64_t kMinSampledMessages = 4;         // the ratio rests on several messages ...
constexpr uint64_t kMinSampledBytes = 128 * 1024;   // ... and enough bytes
constexpr double kMaxRatio = 0.5;                   // compressed / original: saves at least half
// Compression trades CPU for bytes: on a LAN (well under 1 ms) sending the
// bytes is usually cheaper, so the finding is info; past 5 ms of round trip
// (another zone or region) the bytes cost transfer time and it is a warning.
constexpr double kFarRttS = 0.005;

// The round trip of the slower hop: relayed PINGs, else TCP_INFO (median).
double slowerHopRtt(const WorkerStats& s) {
  double rtt = 0;
  for (const HopStats* h : {&downstream(s), &upstream(s)}) {
    const Histogram& r = h->ping_rtt.count() > 0 ? h->ping_rtt : h->tcp_rtt;
    if (r.count() > 0) rtt = std::max(rtt, r.quantile(0.5));
  }
  return rtt;
}

struct Candidate {
  Finding finding;
  double saved_per_s;
  std::string key;
};

}  // namespace

void serializationCompressibleUncompressed(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  const double rtt = slowerHopRtt(w.stats);
  std::vector<Candidate> found;
  for (const auto& [method, m] : w.stats.methods) {
    for (int dir = 0; dir < 2; ++dir) {
      const uint64_t n = m.messages[dir];
      if (n < kMinMessages) continue;
      const double bytes = static_cast<double>(m.message_bytes[dir]);
      const double mean = bytes / static_cast<double>(n);
      const double uncompressed_share =
          static_cast<double>(n - std::min(n, m.compressed_messages[dir])) / static_cast<double>(n);
      if (mean < kLargeMeanBytes || bytes < kMinWindowBytes || uncompressed_share < kMaxUncompressedShare) continue;
      const WireProfile& wp = m.wire[dir];
      if (wp.sampledMessages() < kMinSampledMessages || wp.sampledBytes() < kMinSampledBytes) continue;
      const double ratio = static_cast<double>(wp.compressedBytes()) / static_cast<double>(wp.sampledBytes());
      if (ratio > kMaxRatio) continue;
      const double bytes_per_s = bytes / w.seconds;
      const double saved_per_s = bytes_per_s * uncompressed_share * (1 - ratio);
      Finding f;
      f.id = "serialization.compressible_uncompressed";
      f.layer = Layer::kSerialization;
      f.severity = rtt >= kFarRttS ? Severity::kWarning : Severity::kInfo;
      f.title = std::string("Large ") + messageDirName(dir) + " messages are sent uncompressed but compress to " +
                std::to_string(static_cast<int>(ratio * 100 + 0.5)) + " % of their size";
      f.evidence = {{"window_s", rounded(w.seconds)},
                    {"messages", n},
                    {"uncompressed_share", rounded(uncompressed_share)},
                    {"message_mean_bytes", rounded(mean)},
                    {"message_p50_bytes", rounded(m.message_size[dir].quantile(0.5))},
                    {"bytes_per_s", rounded(bytes_per_s)},
                    {"sampled_messages", wp.sampledMessages()},
                    {"sampled_bytes", wp.sampledBytes()},
                    {"compressed_size_share", rounded(ratio)},
                    {"would_save_bytes_per_s", rounded(saved_per_s)},
                    {"network_rtt_s", rounded(rtt)}};
      f.recommendation =
          "Compress this method's messages with gzip where bandwidth or transfer time matters: links slower "
          "or longer than a LAN, metered traffic (it costs CPU on both ends). "
          + std::string(dir == kRequest ? "The client compresses requests: " : "The server compresses responses: ") +
          "Go grpc.UseCompressor(gzip.Name) per call or grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)) "
          "(import google.golang.org/grpc/encoding/gzip; a Go server answers in the client's encoding); "
          "C++ ClientContext::set_compression_algorithm(GRPC_COMPRESS_GZIP), server "
          "ServerBuilder::SetDefaultCompressionAlgorithm or ServerContext::set_compression_algorithm; "
          "Python compression=grpc.Compression.Gzip on the channel, the call or grpc.server(); "
          "Java stub.withCompression(\"gzip\") (server: ServerCall.setCompression(\"gzip\")); "
          "Node channel option grpc.default_compression_algorithm; core channel argument "
          "grpc.default_compression_algorithm.";
      f.scope = {{"method", method}, {"direction", messageDirName(dir)}};
      found.push_back({std::move(f), saved_per_s, method + messageDirName(dir)});
    }
  }
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return a.saved_per_s != b.saved_per_s ? a.saved_per_s > b.saved_per_s : a.key < b.key;
  });
  for (size_t i = 0; i < found.size() && i < kMaxPerRule; ++i) out.push_back(std::move(found[i].finding));
}

}  // namespace grpcscope::findings
