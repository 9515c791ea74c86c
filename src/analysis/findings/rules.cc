#include "analysis/findings/rules.h"

namespace grpcscope::findings {

std::span<const Rule> allRules() {
  static const Rule kRules[] = {
      {"keepalive.too_many_pings", &keepaliveTooManyPings},
  };
  return kRules;
}

}  // namespace grpcscope::findings
