#include <grpcscope/observer.h>

namespace grpcscope {

const char* hopName(Hop hop) { return hop == Hop::kDownstream ? "downstream" : "upstream"; }

const char* directionName(Direction direction) { return direction == Direction::kReceived ? "received" : "sent"; }

const char* closeReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kPeerClosed: return "peer_closed";
    case CloseReason::kPeerReset: return "peer_reset";
    case CloseReason::kProtocolError: return "protocol_error";
    case CloseReason::kFlood: return "flood";
    case CloseReason::kTimeout: return "timeout";
    case CloseReason::kUpstreamFailed: return "upstream_failed";
    case CloseReason::kOtherLegClosed: return "other_leg_closed";
    case CloseReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

}  // namespace grpcscope
