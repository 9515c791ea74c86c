#include "analysis/findings/rules.h"

namespace grpcscope::findings {

std::span<const Rule> allRules() {
  static const Rule kRules[] = {
      // Connection management: keepalive
      {"keepalive.too_many_pings", &keepaliveTooManyPings},
      {"keepalive.ping_strikes_predicted", &keepalivePingStrikesPredicted},
      {"connection.max_age_churn", &connectionMaxAgeChurn},

      // Connection management: connections
      {"connection.churn", &connectionChurn},
      {"connection.max_concurrent_streams_saturated", &connectionMaxConcurrentStreamsSaturated},
      {"connection.upstream_unavailable", &connectionUpstreamUnavailable},
      {"connection.goaway_or_reset_errors", &connectionGoawayOrResetErrors},

      // Flow control and transport
      {"flow_control.window_limited", &flowControlWindowLimited},
      {"flow_control.slow_reader", &flowControlSlowReader},
      {"flow_control.window_stuck_at_default", &flowControlWindowStuckAtDefault},
      {"transport.retransmits", &transportRetransmits},
      {"transport.rwnd_limited", &transportRwndLimited},
      {"transport.slow_start_after_idle", &transportSlowStartAfterIdle},

      // TLS
      {"tls.no_resumption", &tlsNoResumption},
      {"tls.slow_handshake", &tlsSlowHandshake},
      {"tls.alpn_missing", &tlsAlpnMissing},
      {"tls.certificate_expiring", &tlsCertificateExpiring},

      // Serialization, application and self
      {"serialization.message_size_near_limit", &serializationMessageSizeNearLimit},
      {"serialization.compressible_uncompressed", &serializationCompressibleUncompressed},
      {"serialization.unpacked_repeated_field", &serializationUnpackedRepeatedField},
      {"serialization.dominant_field", &serializationDominantField},
      {"application.server_time_dominates", &applicationServerTimeDominates},
      {"application.error_rate", &applicationErrorRate},
      {"proxy.overhead", &proxyOverhead},

  };
  return kRules;
}

}  // namespace grpcscope::findings
