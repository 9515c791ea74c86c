// tls.alpn_missing: TLS handshakes that did not settle on ALPN "h2" (RFC
// 7301; RFC 9113 section 3.2: HTTP/2 over TLS is negotiated as "h2").
// Downstream: the client offered no ALPN, or no "h2" (grpcscope serves it
// HTTP/2 all the same); grpc-go 1.67 and later refuse such connections on
// both sides ("credentials: cannot check peer: missing selected ALPN
// property"), so the client breaks as soon as it talks to a grpc-go server
// directly, or that server is upgraded. Upstream: the server selected no
// "h2". Counted by the negotiated ALPN of each handshake
// (HopStats::tls_handshakes) over the last 60 s (10 s while the process is
// younger); the live connections name the clients.
#include <string>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// Two handshakes without h2 in the window: one may be a person's probe
// (openssl s_client, curl); two or more are a client's configuration.
constexpr uint64_t kMinHandshakes = 2;
constexpr size_t kMaxClientsShown = 8;

std::string hostOf(const std::string& peer) {
  size_t colon = peer.rfind(':');
  std::string host = colon == std::string::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

}  // namespace

void tlsAlpnMissing(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  for (Hop hop : {Hop::kDownstream, Hop::kUpstream}) {
    const HopStats& hs = w.stats.hops[static_cast<int>(hop)];
    uint64_t without = 0, total = 0;
    nlohmann::json by_alpn = nlohmann::json::object();
    for (const auto& [key, n] : hs.tls_handshakes) {
      total += n;
      const std::string& alpn = std::get<1>(key);
      if (alpn == "h2" || n == 0) continue;
      without += n;
      by_alpn[alpn] = by_alpn.value(alpn, uint64_t{0}) + n;
    }
    if (without < kMinHandshakes) continue;
    Finding f;
    f.id = "tls.alpn_missing";
    f.severity = Severity::kWarning;  // works through grpcscope today; grpc-go 1.67+ refuses it
    f.layer = Layer::kTls;
    f.scope = {{"hop", hopName(hop)}};
    f.evidence = {{"handshakes_without_h2", without},
                  {"handshakes", total},
                  {"without_h2_share", rounded(static_cast<double>(without) / static_cast<double>(total))},
                  {"negotiated_alpn", by_alpn},
                  {"window_s", rounded(w.seconds)}};
    if (hop == Hop::kDownstream) {
      nlohmann::json clients = nlohmann::json::array();
      for (const ConnectionView& c : in.current.connections) {
        const LegView& leg = c.legs[static_cast<int>(Hop::kDownstream)];
        if (!leg.tls.present || leg.tls.alpn == "h2" || clients.size() >= kMaxClientsShown) continue;
        clients.push_back({{"address", hostOf(leg.peer)},
                           {"offered_alpn", leg.tls.offered_alpn.empty() ? "none" : leg.tls.offered_alpn}});
      }
      if (!clients.empty()) f.evidence["live_clients_without_h2"] = clients;
      f.title = "Clients connect over TLS without offering ALPN h2";
      f.recommendation =
          "Make the client offer ALPN \"h2\" in its TLS handshake. gRPC's own TLS credentials always do (Go "
          "credentials.NewTLS, C++/Python grpc.ssl_channel_credentials, Java GrpcSslContexts.forClient(), Node "
          "grpc.credentials.createSsl): a client without it builds its TLS itself (Go: tls.Config{NextProtos: "
          "[]string{\"h2\"}}; an Envoy upstream: alpn_protocols: [\"h2\"]; curl --http2; openssl s_client -alpn h2). "
          "grpc-go 1.67 and later refuse TLS connections without ALPN; GRPC_ENFORCE_ALPN_ENABLED=false on the "
          "grpc-go side is only a stopgap that newer releases remove.";
    } else {
      f.title = "The server does not select ALPN h2 in its TLS handshake";
      f.recommendation =
          "Configure the server's TLS to select ALPN \"h2\" (gRPC servers do by themselves; a TLS terminator or "
          "proxy in front must list h2, e.g. Envoy alpn_protocols: [\"h2\"], nginx listen ... ssl http2). grpc-go "
          "1.67 and later clients refuse servers that select no ALPN.";
    }
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
