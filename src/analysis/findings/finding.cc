#include "analysis/findings/finding.h"

namespace grpcscope::findings {

std::string_view severityName(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "info";
}

std::string_view layerName(Layer l) {
  switch (l) {
    case Layer::kSerialization: return "serialization";
    case Layer::kFlowControl: return "flow_control";
    case Layer::kConnection: return "connection";
    case Layer::kTls: return "tls";
    case Layer::kTransport: return "transport";
    case Layer::kApplication: return "application";
    case Layer::kProxy: return "proxy";
  }
  return "proxy";
}

}  // namespace grpcscope::findings
