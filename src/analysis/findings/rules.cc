#include "analysis/findings/rules.h"

namespace grpcscope::findings {

std::span<const Rule> allRules() {
  static const Rule kRules[] = {
      // Connection management: keepalive
      {"keepalive.too_many_pings", &keepaliveTooManyPings},

      // Connection management: connections

      // Flow control and transport
      {"flow_control.window_limited", &flowControlWindowLimited},
      {"flow_control.slow_reader", &flowControlSlowReader},
      {"flow_control.window_stuck_at_default", &flowControlWindowStuckAtDefault},
      {"transport.retransmits", &transportRetransmits},
      {"transport.rwnd_limited", &transportRwndLimited},
      {"transport.slow_start_after_idle", &transportSlowStartAfterIdle},

      // TLS

      // Serialization, application and self

  };
  return kRules;
}

}  // namespace grpcscope::findings
