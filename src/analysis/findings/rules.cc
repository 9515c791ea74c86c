#include "analysis/findings/rules.h"

namespace grpcscope::findings {

std::span<const Rule> allRules() {
  static const Rule kRules[] = {
      // Connection management: keepalive
      {"keepalive.too_many_pings", &keepaliveTooManyPings},

      // Connection management: connections

      // Flow control and transport

      // TLS

      // Serialization, application and self

  };
  return kRules;
}

}  // namespace grpcscope::findings
