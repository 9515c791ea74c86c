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
