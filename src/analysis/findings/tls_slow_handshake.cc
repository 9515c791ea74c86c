// tls.slow_handshake: TLS handshakes on a hop take long, and which phase
// dominates: network round trips, certificate verification, or key exchange
// and the peer's own processing (signing, its verification of ours). The
// median comes from the hop's handshake histogram over the last 60 s (10 s
// while the process is younger); the phases from the live connections'
// handshake facts (TlsView), the RTT from their TCP_INFO (or relayed PINGs).
#include <algorithm>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// A full TLS 1.3 handshake costs one round trip and a few milliseconds of
// CPU (an ECDHE key share, one signature, one chain verification); at 100 ms
// it is a noticeable part of a first call's latency.
constexpr double kSlowHandshakeS = 0.1;
// Handshakes in the window: one slow connection is no pattern.
constexpr uint64_t kMinHandshakes = 5;

struct Phases {
  uint64_t legs = 0;           // live TLS legs measured
  double total_s = 0, verify_s = 0, network_s = 0, rest_s = 0;
  uint64_t with_rtt = 0;       // legs whose RTT was known
};

// Round trips the handshake itself needs, as its server sees it (RFC 8446
// section 2: one for TLS 1.3; two for a full TLS 1.2 handshake, one resumed).
double roundTrips(const TlsView& t) {
  if (t.version == "TLSv1.3" || t.resumed) return 1;
  return 2;
}

Phases phasesOf(const StatsSnapshot& s, Hop hop) {
  Phases p;
  int h = static_cast<int>(hop);
  for (const ConnectionView& c : s.connections) {
    const LegView& leg = c.legs[h];
    const TlsView& t = leg.tls;
    if (!t.present || t.handshake_ns == 0) continue;
    double total = static_cast<double>(t.handshake_ns) / 1e9;
    double verify = std::min(total, static_cast<double>(t.verify_ns) / 1e9);
    double rtt = 0;
    if (leg.tcp.valid && leg.tcp.rtt_us > 0) {
      rtt = static_cast<double>(leg.tcp.rtt_us) / 1e6;
    } else if (leg.min_rtt_ns > 0) {
      rtt = static_cast<double>(leg.min_rtt_ns) / 1e9;
    }
    if (rtt > 0) ++p.with_rtt;
    double network = std::min(total - verify, roundTrips(t) * rtt);
    ++p.legs;
    p.total_s += total;
    p.verify_s += verify;
    p.network_s += network;
    p.rest_s += total - verify - network;
  }
  return p;
}

}  // namespace

void tlsSlowHandshake(const FindingInput& in, std::vector<Finding>& out) {
  const StatsWindow& w = recent(in);
  if (w.empty()) return;
  for (Hop hop : {Hop::kDownstream, Hop::kUpstream}) {
    const HopStats& hs = w.stats.hops[static_cast<int>(hop)];
    uint64_t n = hs.tls_handshake.count();
    if (n < kMinHandshakes) continue;
    double p50 = hs.tls_handshake.quantile(0.5);
    if (p50 < kSlowHandshakeS) continue;
    Phases p = phasesOf(in.current, hop);
    Finding f;
    f.id = "tls.slow_handshake";
    f.layer = Layer::kTls;
    f.scope = {{"hop", hopName(hop)}};
    f.evidence = {{"handshakes", n},
                  {"handshake_p50_s", rounded(p50)},
                  {"handshake_p90_s", rounded(hs.tls_handshake.quantile(0.9))},
                  {"window_s", rounded(w.seconds)},
                  {"live_handshakes_measured", p.legs}};
    const char* peer = hop == Hop::kDownstream ? "the client" : "the server";
    std::string dominant = "unknown";
    if (p.legs > 0) {
      double legs = static_cast<double>(p.legs);
      f.evidence["phase_network_round_trips_s"] = rounded(p.network_s / legs);
      f.evidence["phase_certificate_verification_s"] = rounded(p.verify_s / legs);
      f.evidence["phase_key_exchange_and_peer_s"] = rounded(p.rest_s / legs);
      f.evidence["rtt_known_for"] = p.with_rtt;
      if (p.network_s >= p.verify_s && p.network_s >= p.rest_s) {
        dominant = "network_round_trips";
      } else if (p.verify_s >= p.rest_s) {
        dominant = "certificate_verification";
      } else {
        dominant = "key_exchange_and_peer_processing";
      }
    }
    f.evidence["dominant_phase"] = dominant;
    // Round trips are the network's, not a TLS setting: worth knowing, less to fix.
    f.severity = dominant == "network_round_trips" ? Severity::kInfo : Severity::kWarning;
    f.title = std::string("TLS handshakes ") + (hop == Hop::kDownstream ? "with clients" : "with the server") +
              " are slow (" + (dominant == "unknown" ? std::string("phases not measured") : dominant) + ")";
    std::string fix;
    if (dominant == "network_round_trips") {
      fix = "The handshake is mostly network round trips: use TLS 1.3 (one round trip instead of two for TLS 1.2), "
            "resume sessions (see tls.no_resumption) and keep connections open (see connection.churn) so that "
            "calls do not wait for handshakes.";
    } else if (dominant == "certificate_verification") {
      fix = std::string("Verifying ") + (hop == Hop::kDownstream ? "the client's" : "the server's") +
            " certificate chain takes most of the time: send a shorter chain (leaf and intermediates only, not the "
            "root), use a smaller trust store, and avoid revocation checks that fetch over the network "
            "during the handshake.";
    } else if (dominant == "key_exchange_and_peer_processing") {
      fix = std::string("Key exchange and ") + peer +
            "'s own processing take most of the time: use ECDSA P-256 certificates instead of large RSA keys "
            "(signing with RSA 4096 costs several milliseconds of CPU per handshake), X25519 or P-256 key exchange, "
            "and check that " + peer + " is not CPU-starved (a throttled container) when connections are opened.";
    } else {
      fix = "No live connection shows its handshake phases: look at /api/connections while connections are "
            "open. Use TLS 1.3, ECDSA P-256 certificates and session resumption, and keep connections open.";
    }
    f.recommendation = fix;
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
