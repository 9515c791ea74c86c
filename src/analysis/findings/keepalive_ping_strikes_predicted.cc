// keepalive.ping_strikes_predicted: before any GOAWAY, a client's keepalive
// PINGs come more often than the server's ping policy allows, so the server
// will close the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" on
// the third early PING (gRFC A8; gRPC's doc/keepalive.md; docs/findings.md).
//
// The observer classifies each client PING per connection as the server's
// policy would: a PING after the server's HEADERS or DATA resets the strikes
// (BDP probes mostly are such), grpc-go's BDP probe payload is flow control,
// the rest are keepalive PINGs; one of those sooner than gRPC's default
// minimum after the previous PING (5 min with calls open, 2 h without) is a
// strike. The policy assumed is the default unless what was seen says more:
// a past too_many_pings from the server (its minimum is above the interval
// that earned it), or a connection that took more strikes than the default
// allows without a GOAWAY (the server is laxer: intervals at least that long
// are fine). Reported per client, for its live connection nearest its third
// strike, with when that strike will come.
#include <algorithm>
#include <limits>

#include "analysis/findings/rule_support.h"
#include "analysis/findings/rules.h"

namespace grpcscope::findings {
namespace {

constexpr int kDown = static_cast<int>(Hop::kDownstream);
constexpr int kUp = static_cast<int>(Hop::kUpstream);
// gRPC servers allow 2 strikes and send the GOAWAY on the third (Go's
// maxPingStrikes, core's grpc.http2.max_ping_strikes default, Java's).
constexpr uint32_t kStrikesAllowed = 2;
constexpr uint32_t kGoawayStrike = kStrikesAllowed + 1;
// At least one strike seen, i.e. two keepalive PINGs closer than the policy
// allows with no server frame between them: one PING alone is never a strike.
constexpr uint32_t kMinStrikes = 1;
// The client is still pinging at its cadence: its last PING is at most this
// many intervals old (after that, no third strike is coming).
constexpr double kStaleIntervals = 2.5;
constexpr double kDefaultMinIntervalS = 300;    // 5 min with calls open (gRFC A8)
constexpr double kIdleMinIntervalS = 7200;      // 2 h without calls (no pings without calls permitted)
constexpr uint32_t kEnhanceYourCalm = 0xb;    // RFC 9113 section 7

struct Candidate {
  const ConnectionView* conn = nullptr;
  std::string client;
  double interval_s = 0;
  double third_strike_in_s = 0;
};

std::string hostOf(std::string_view peer) {
  size_t colon = peer.rfind(':');
  std::string_view host = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::string(host);
}

}  // namespace

void keepalivePingStrikesPredicted(const FindingInput& in, std::vector<Finding>& out) {
  const StatsSnapshot& now = in.current;
  // What the server showed of its policy, over the process' life.
  double goaway_interval_s = 0;  // the longest interval that earned a too_many_pings
  double tolerated_s = 0;        // the shortest interval the server let through
  uint64_t past_goaways = 0;
  for (const auto& [ip, p] : now.stats.pings_by_client) {
    past_goaways += p.too_many_pings;
    for (const auto& g : p.goaways) goaway_interval_s = std::max(goaway_interval_s, g.interval_ns / 1e9);
    if (p.tolerated_interval_ns) {
      double t = p.tolerated_interval_ns / 1e9;
      tolerated_s = tolerated_s == 0 ? t : std::min(tolerated_s, t);
    }
  }

  std::vector<Candidate> found;
  for (const ConnectionView& c : now.connections) {
    const LegView& down = c.legs[kDown];
    const LegView& up = c.legs[kUp];
    if (!down.opened || down.closed || (up.opened && up.closed)) continue;
    if (up.goaway && up.goaway_code == kEnhanceYourCalm) continue;  // too late to predict: it came
    if (down.strikes_tolerated || down.ping_strikes < kMinStrikes || down.ping_strikes >= kGoawayStrike) continue;
    if (down.last_keepalive_interval_ns == 0 || down.last_keepalive_ping_ns == 0) continue;
    double interval = down.last_keepalive_interval_ns / 1e9;
    if (tolerated_s > 0 && interval >= tolerated_s) continue;  // the server took this cadence before
    double since = now.now_ns > down.last_keepalive_ping_ns ? (now.now_ns - down.last_keepalive_ping_ns) / 1e9 : 0;
    if (since > kStaleIntervals * interval) continue;  // the client stopped pinging at this cadence
    Candidate k;
    k.conn = &c;
    k.client = hostOf(down.peer);
    k.interval_s = interval;
    k.third_strike_in_s = std::max(0.0, (kGoawayStrike - down.ping_strikes) * interval - since);
    found.push_back(std::move(k));
  }
  if (found.empty()) return;
  // Per client: its connection nearest the third strike; clients soonest first.
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    if (a.client != b.client) return a.client < b.client;
    return a.third_strike_in_s < b.third_strike_in_s;
  });
  std::vector<Candidate> per_client;
  for (auto& k : found) {
    if (!per_client.empty() && per_client.back().client == k.client) continue;
    per_client.push_back(k);
  }
  std::sort(per_client.begin(), per_client.end(),
            [](const Candidate& a, const Candidate& b) { return a.third_strike_in_s < b.third_strike_in_s; });
  if (per_client.size() > kMaxPerRule) per_client.resize(kMaxPerRule);

  for (const Candidate& k : per_client) {
    const LegView& down = k.conn->legs[kDown];
    bool idle = down.calls_at_last_ping == 0;
    Finding f;
    f.id = "keepalive.ping_strikes_predicted";
    f.severity = Severity::kWarning;
    f.layer = Layer::kConnection;
    f.title = "The client's keepalive PINGs break the server's ping policy: GOAWAY \"too_many_pings\" expected";
    double assumed = idle ? kIdleMinIntervalS : kDefaultMinIntervalS;
    f.evidence = {{"client_ping_interval_s", rounded(k.interval_s)},
                  {"strikes", down.ping_strikes},
                  {"strikes_allowed", kStrikesAllowed},
                  {"third_strike_in_s", rounded(k.third_strike_in_s)},
                  {"calls_active", down.calls_at_last_ping},
                  {"keepalive_pings", down.keepalive_pings},
                  {"bdp_pings", down.bdp_pings},
                  {"pings_after_server_data", down.pings_after_server_frames},
                  {"assumed_min_ping_interval_s", assumed},
                  {"policy_source", past_goaways > 0 ? "past_too_many_pings" : "grpc_default"}};
    if (past_goaways > 0) {
      f.evidence["past_too_many_pings"] = past_goaways;
      f.evidence["past_goaway_ping_interval_s"] = rounded(goaway_interval_s);
      // The server refused that interval; a client as fast or faster will surely be refused.
      f.evidence["certain"] = k.interval_s <= goaway_interval_s;
    }
    f.recommendation =
        "Space the client's keepalive PINGs at least as far apart as the server's minimum (gRPC's default: 5 min "
        "while calls are open; without calls, none unless the server permits them), or relax the server's "
        "policy. Client: Go keepalive.ClientParameters{Time, PermitWithoutStream}; C++/Python "
        "grpc.keepalive_time_ms and grpc.keepalive_permit_without_calls; Java keepAliveTime() and "
        "keepAliveWithoutCalls(); Node grpc.keepalive_time_ms. Server: Go keepalive.EnforcementPolicy{MinTime, "
        "PermitWithoutStream}; C++/Python grpc.http2.min_ping_interval_without_data_ms, "
        "grpc.keepalive_permit_without_calls and grpc.http2.max_ping_strikes; Java permitKeepAliveTime() and "
        "permitKeepAliveWithoutCalls().";
    f.scope = {{"client", k.client}};
    f.evidence["connection"] = std::to_string(k.conn->worker) + "/" + std::to_string(k.conn->id);
    out.push_back(std::move(f));
  }
}

}  // namespace grpcscope::findings
