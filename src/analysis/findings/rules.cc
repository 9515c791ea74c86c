#include "analysis/findings/rules.h"

namespace grpcscope::findings {

std::span<const Rule> allRules() {
  static const Rule kRules[] = {
      // Connection management: keepalive
      {"keepalive.too_many_pings", &keepaliveTooManyPings},
      {"keepalive.ping_strikes_predicted", &keepalivePingStrikesPredicted},
      {"connection.max_age_churn", &connectionMaxAgeChurn},

      // Connection management: connections

      // Flow control and transport

      // TLS

      // Serialization, application and self

  };
  return kRules;
}

}  // namespace grpcscope::findings
