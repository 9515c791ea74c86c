// tls.no_resumption: clients (downstream) or grpcscope towards the server
// (upstream) keep making full TLS handshakes and (almost) none resumes a
// session. A full handshake costs the certificate exchange, its
// verification and a signature; resumption (RFC 8446 section 2.2, session
// tickets) skips all three. Reported per hop over the last 10 s, the span
// in which WorkerStats::churn counts the client addresses.
#include <map>
#include <string>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// At least 10 full handshakes in 10 s on the hop...
constexpr uint64_t kMinFull = 10;
// ...at least two per client address on average ("repeated from a client":
// a fleet of clients that each connect once makes one full handshake each,
// and that is what resumption cannot avoid)...
constexpr double kMinFullPerClient = 2;
// ...and at most 10 % of the handshakes resumed: resumption works for
// nobody, not merely after a ticket-key rotation.
constexpr double kMaxResumedShare = 0.1;

}  // namespace

void tlsNoResumption(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = in.last10s;
  if (w.empty()) return;
  uint64_t now_second = in.current.t > 0 ? static_cast<uint64_t>(in.current.t) : 0;
  uint64_t clients = 0;
  for (const auto& [ip, churn] : in.current.stats.churn) {
    if (churn.recent(now_second) > 0) ++clients;
  }
  for (Hop hop : {Hop::kDownstream, Hop::kUpstream}) {
    const HopStats& hs = w.stats.hops[static_cast<int>(hop)];
    uint64_t full = 0, resumed = 0;
    std::map<std::string, uint64_t> versions;
    for (const auto& [key, n] : hs.tls_handshakes) {
      if (n == 0) continue;
      (std::get<2>(key) ? resumed : full) += n;
      if (!std::get<2>(key)) versions[std::get<0>(key)] += n;
    }
    if (full < kMinFull) continue;
    uint64_t total = full + resumed;
    double resumed_share = static_cast<double>(resumed) / static_cast<double>(total);
    if (resumed_share > kMaxResumedShare) continue;
    // Upstream every connection goes to the one server.
    uint64_t peers = hop == Hop::kUpstream ? 1 : std::max<uint64_t>(clients, 1);
    double full_per_peer = static_cast<double>(full) / static_cast<double>(peers);
    if (full_per_peer < kMinFullPerClient) continue;

    Finding f;
    f.id = "tls.no_resumption";
    f.severity = Severity::kWarning;  // CPU and a round trip per connection, no failures
    f.layer = Layer::kTls;
    f.scope = {{"hop", hopName(hop)}};
    f.evidence = {{"full_handshakes", full},
                  {"resumed_handshakes", resumed},
                  {"resumed_share", rounded(resumed_share)},
                  {"full_handshakes_per_s", rounded(static_cast<double>(full) / w.seconds)},
                  {"full_handshakes_per_peer", rounded(full_per_peer)},
                  {"window_s", rounded(w.seconds)},
                  {"full_handshakes_by_version", versions}};
    if (hop == Hop::kDownstream) f.evidence["client_addresses"] = clients;
    if (hs.tls_handshake.count() > 0) f.evidence["handshake_p50_s"] = rounded(hs.tls_handshake.quantile(0.5));
    if (hop == Hop::kDownstream) {
      f.title = "Clients make full TLS handshakes again and again; none resumes a session";
      f.recommendation =
          "First keep connections open (one channel per target, see connection.churn). Where new connections are "
          "unavoidable, give the client a TLS session cache: Go tls.Config{ClientSessionCache: "
          "tls.NewLRUClientSessionCache(n)} in credentials.NewTLS; C++ channel argument GRPC_SSL_SESSION_CACHE_ARG "
          "(\"grpc.ssl_session_cache\") set to grpc_ssl_session_cache_create_lru(n); Python channel option "
          "(\"grpc.ssl_session_cache\", grpc.experimental.session_cache.ssl_session_cache_lru(n)). A client that "
          "is a new process per call (a CLI, a cron job) cannot resume unless it stores the session. grpcscope "
          "issues session tickets unless --tls-ticket-rotation is 0.";
    } else {
      f.title = "grpcscope makes full TLS handshakes to the server again and again; the server resumes none";
      f.recommendation =
          "grpcscope offers the server its last session on every new upstream connection; the server accepts none. "
          "Enable session resumption on the server (Go: leave tls.Config{SessionTicketsDisabled} false, the "
          "default; a TLS terminator in front: enable session tickets or a session cache), and keep client "
          "connections open so that fewer upstream connections are made (see connection.churn).";
    }
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
