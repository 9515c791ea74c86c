// tls.certificate_expiring: a peer certificate seen on a live connection
// expires within 14 days: upstream the server's certificate, downstream a
// client's (mTLS). Once it expires, every new connection fails its
// handshake (certificate verify failed: certificate has expired), so the
// outage starts at a known time. Days are those OpenSSL computes from the
// certificate's notAfter when the handshake finished (TlsView's
// peer_days_left); one finding per hop and certificate subject, the
// soonest first.
#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

// Two weeks: time for a renewal through change control. Automated renewal
// starts far earlier (Let's Encrypt advises renewing 90-day certificates with
// 30 days left; cert-manager's renewBefore is set well before expiry), so a
// certificate this close to its end means renewal is not happening.
constexpr int64_t kExpiringDays = 14;
// Critical from 3 days on (and once expired): a weekend away from an outage.
constexpr int64_t kCriticalDays = 3;

struct Seen {
  int64_t days_left = 0;
  std::string issuer;
  uint64_t connections = 0;
};

}  // namespace

void tlsCertificateExpiring(const FindingInput& in, std::vector<Finding>& out) {
  // (hop, subject) -> the soonest expiry seen.
  std::map<std::pair<int, std::string>, Seen> certs;
  for (const ConnectionView& c : in.current.connections) {
    for (int h = 0; h < 2; ++h) {
      const LegView& leg = c.legs[h];
      const TlsView& t = leg.tls;
      // No subject: the peer sent no certificate (a client without mTLS); 0 days would be a lie.
      if (!leg.opened || leg.closed || !t.present || t.peer_subject.empty()) continue;
      if (t.peer_days_left > kExpiringDays) continue;
      auto [it, inserted] = certs.try_emplace({h, t.peer_subject});
      Seen& s = it->second;
      if (inserted || t.peer_days_left < s.days_left) {
        s.days_left = t.peer_days_left;
        s.issuer = t.peer_issuer;
      }
      ++s.connections;
    }
  }
  std::vector<std::pair<std::pair<int, std::string>, Seen>> soonest(certs.begin(), certs.end());
  std::sort(soonest.begin(), soonest.end(), [](const auto& a, const auto& b) {
    return a.second.days_left != b.second.days_left ? a.second.days_left < b.second.days_left : a.first < b.first;
  });
  if (soonest.size() > kMaxPerRule) soonest.resize(kMaxPerRule);
  for (const auto& [key, s] : soonest) {
    Hop hop = static_cast<Hop>(key.first);
    Finding f;
    f.id = "tls.certificate_expiring";
    f.severity = s.days_left <= kCriticalDays ? Severity::kCritical : Severity::kWarning;
    f.layer = Layer::kTls;
    f.scope = {{"hop", hopName(hop)}, {"subject", key.second}};
    f.evidence = {{"days_left", s.days_left},
                  {"peer_subject", key.second},
                  {"peer_issuer", s.issuer},
                  {"live_connections", s.connections},
                  {"threshold_days", kExpiringDays}};
    const char* whose = hop == Hop::kUpstream ? "The server's" : "A client's";
    f.title = std::string(whose) + " TLS certificate " +
              (s.days_left < 0 ? "has expired" : "expires in " + std::to_string(s.days_left) + " days");
    f.recommendation =
        std::string("Renew the ") + (hop == Hop::kUpstream ? "server's" : "client's") +
        " certificate and make sure the process picks the new one up (most gRPC servers and clients read "
        "certificates once at start: restart them, or use a reloading source such as Go "
        "tls.Config{GetCertificate} or, for C++, grpc::experimental::FileWatcherCertificateProvider). "
        "With cert-manager, check the Certificate's status and renewBefore; with an ACME client, its renewal "
        "job.";
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
