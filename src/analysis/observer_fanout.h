// Two observers behind one: the measuring one and, at --log-level debug, the
// logging one. Used only when both are wanted (a virtual call per event more).
#pragma once

#include <memory>

#include <grpcscope/observer.h>

namespace grpcscope {

class ObserverFanout final : public Observer {
 public:
  ObserverFanout(std::unique_ptr<Observer> first, std::unique_ptr<Observer> second)
      : a_(std::move(first)), b_(std::move(second)) {}

  void onConnectionOpen(const ConnectionOpenEvent& e) override { a_->onConnectionOpen(e), b_->onConnectionOpen(e); }
  void onConnectionClose(const ConnectionCloseEvent& e) override { a_->onConnectionClose(e), b_->onConnectionClose(e); }
  void onSettings(const SettingsEvent& e) override { a_->onSettings(e), b_->onSettings(e); }
  void onStreamOpen(const StreamEvent& e) override { a_->onStreamOpen(e), b_->onStreamOpen(e); }
  void onStreamMapped(const StreamMapEvent& e) override { a_->onStreamMapped(e), b_->onStreamMapped(e); }
  void onHeaders(const HeadersEvent& e) override { a_->onHeaders(e), b_->onHeaders(e); }
  void onData(const DataEvent& e) override { a_->onData(e), b_->onData(e); }
  void onRstStream(const RstStreamEvent& e) override { a_->onRstStream(e), b_->onRstStream(e); }
  void onStreamClose(const StreamCloseEvent& e) override { a_->onStreamClose(e), b_->onStreamClose(e); }
  void onWindowUpdate(const WindowUpdateEvent& e) override { a_->onWindowUpdate(e), b_->onWindowUpdate(e); }
  void onFlowControl(const FlowControlEvent& e) override { a_->onFlowControl(e), b_->onFlowControl(e); }
  void onPing(const PingEvent& e) override { a_->onPing(e), b_->onPing(e); }
  void onGoaway(const GoawayEvent& e) override { a_->onGoaway(e), b_->onGoaway(e); }
  void onViolation(const ViolationEvent& e) override { a_->onViolation(e), b_->onViolation(e); }
  void onUpstreamFailure(const UpstreamFailureEvent& e) override { a_->onUpstreamFailure(e), b_->onUpstreamFailure(e); }
  void onTlsHandshake(const TlsHandshakeEvent& e) override { a_->onTlsHandshake(e), b_->onTlsHandshake(e); }
  void onTick(uint64_t now_ns) override { a_->onTick(now_ns), b_->onTick(now_ns); }

 private:
  std::unique_ptr<Observer> a_;
  std::unique_ptr<Observer> b_;
};

}  // namespace grpcscope
