// The rule set: each rule is a pure function of the snapshots (no clock, no
// I/O, no libuv/nghttp2/OpenSSL), one per file in this directory, listed in
// rules.cc. A rule appends what it finds now; the engine turns repeated
// reports into one finding with a lifecycle (findings_engine.h).
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "analysis/findings/finding.h"
#include "analysis/findings/finding_input.h"

namespace grpcscope::findings {

// A rule reports at most this many findings (scopes) per evaluation: the
// worst first. Scopes come from peers (client addresses, methods), so this
// bounds what one rule can make the engine keep.
constexpr size_t kMaxPerRule = 8;

using RuleFn = void (*)(const FindingInput& in, std::vector<Finding>& out);

struct Rule {
  std::string_view id;  // the finding id it reports
  RuleFn evaluate;
};

std::span<const Rule> allRules();

// Each rule, declared here, defined in its own file (the file is named after the id).
// Connection management: keepalive
void keepaliveTooManyPings(const FindingInput& in, std::vector<Finding>& out);
void keepalivePingStrikesPredicted(const FindingInput& in, std::vector<Finding>& out);
void connectionMaxAgeChurn(const FindingInput& in, std::vector<Finding>& out);

// Connection management: connections
void connectionChurn(const FindingInput& in, std::vector<Finding>& out);
void connectionMaxConcurrentStreamsSaturated(const FindingInput& in, std::vector<Finding>& out);
void connectionUpstreamUnavailable(const FindingInput& in, std::vector<Finding>& out);
void connectionGoawayOrResetErrors(const FindingInput& in, std::vector<Finding>& out);

// Flow control and transport
void flowControlWindowLimited(const FindingInput& in, std::vector<Finding>& out);
void flowControlSlowReader(const FindingInput& in, std::vector<Finding>& out);
void flowControlWindowStuckAtDefault(const FindingInput& in, std::vector<Finding>& out);
void transportRetransmits(const FindingInput& in, std::vector<Finding>& out);
void transportRwndLimited(const FindingInput& in, std::vector<Finding>& out);
void transportSlowStartAfterIdle(const FindingInput& in, std::vector<Finding>& out);

// TLS
void tlsNoResumption(const FindingInput& in, std::vector<Finding>& out);
void tlsSlowHandshake(const FindingInput& in, std::vector<Finding>& out);
void tlsAlpnMissing(const FindingInput& in, std::vector<Finding>& out);
void tlsCertificateExpiring(const FindingInput& in, std::vector<Finding>& out);

// Serialization, application and self
void serializationMessageSizeNearLimit(const FindingInput& in, std::vector<Finding>& out);
void serializationCompressibleUncompressed(const FindingInput& in, std::vector<Finding>& out);
void serializationUnpackedRepeatedField(const FindingInput& in, std::vector<Finding>& out);
void serializationDominantField(const FindingInput& in, std::vector<Finding>& out);
void applicationServerTimeDominates(const FindingInput& in, std::vector<Finding>& out);
void applicationErrorRate(const FindingInput& in, std::vector<Finding>& out);
void proxyOverhead(const FindingInput& in, std::vector<Finding>& out);


}  // namespace grpcscope::findings
