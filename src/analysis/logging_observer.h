// An Observer that writes each relay event as one debug log line, tagged
// [W<worker>][C<connection>][S<stream>]. Level is checked before anything is
// formatted, so at info level it costs one branch per event. Header values
// of credential-bearing keys and payload bytes are never written.
#pragma once

#include <grpcscope/observer.h>

namespace grpcscope {

class LoggingObserver final : public Observer {
 public:
  void onConnectionOpen(const ConnectionOpenEvent& ev) override;
  void onConnectionClose(const ConnectionCloseEvent& ev) override;
  void onSettings(const SettingsEvent& ev) override;
  void onStreamOpen(const StreamEvent& ev) override;
  void onHeaders(const HeadersEvent& ev) override;
  void onData(const DataEvent& ev) override;
  void onRstStream(const RstStreamEvent& ev) override;
  void onStreamClose(const StreamCloseEvent& ev) override;
  void onWindowUpdate(const WindowUpdateEvent& ev) override;
  void onFlowControl(const FlowControlEvent& ev) override;
  void onPing(const PingEvent& ev) override;
  void onGoaway(const GoawayEvent& ev) override;
  void onViolation(const ViolationEvent& ev) override;
  void onUpstreamFailure(const UpstreamFailureEvent& ev) override;
  void onTlsHandshake(const TlsHandshakeEvent& ev) override;
};

// True for metadata keys whose values must never be logged or shown.
bool isSensitiveHeader(std::string_view name);

}  // namespace grpcscope
