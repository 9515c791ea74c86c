#include "support/echo_service.h"

#include <grpcpp/alarm.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include "support/payload.h"

namespace grpcscope::testsupport {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

// ---------------------------------------------------------------------------
// EchoStats

void EchoStats::callStarted(const std::string& peer) {
  calls_started_.fetch_add(1);
  int64_t now = in_flight_.fetch_add(1) + 1;
  int64_t peak = peak_in_flight_.load();
  while (now > peak && !peak_in_flight_.compare_exchange_weak(peak, now)) {
  }
  if (!peer.empty()) {
    std::lock_guard lock(mu_);
    peers_.insert(peer);
  }
}

void EchoStats::callFinished() {
  in_flight_.fetch_sub(1);
  calls_finished_.fetch_add(1);
}

void EchoStats::cancelObserved() { cancels_observed_.fetch_add(1); }

std::set<std::string> EchoStats::peers() const {
  std::lock_guard lock(mu_);
  return peers_;
}

size_t EchoStats::distinctPeers() const {
  std::lock_guard lock(mu_);
  return peers_.size();
}

void EchoStats::reset() {
  calls_started_ = 0;
  calls_finished_ = 0;
  peak_in_flight_ = in_flight_.load();
  cancels_observed_ = 0;
  std::lock_guard lock(mu_);
  peers_.clear();
}

// ---------------------------------------------------------------------------
// Request helpers

const char* statusCodeName(int code) {
  static const char* const kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kNames[code] : "UNKNOWN";
}


grpc::Status requestedStatus(const EchoRequest& request) {
  if (request.status_code() == 0) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(request.status_code()), request.status_message(),
                      request.status_details());
}

void echoMetadata(grpc::CallbackServerContext* ctx) {
  static constexpr std::string_view kPrefix = "x-echo-";
  static constexpr std::string_view kBin = "-bin";
  for (const auto& [k, v] : ctx->client_metadata()) {
    std::string key(k.data(), k.size());
    if (!key.starts_with(kPrefix)) continue;
    std::string value(v.data(), v.size());
    ctx->AddInitialMetadata(key, value);
    // A "-bin" key keeps its suffix so the value stays binary (gRPC rejects
    // non-printable bytes under an ASCII key).
    std::string trailer = key.ends_with(kBin) ? key.substr(0, key.size() - kBin.size()) + "-trailer-bin"
                                              : key + "-trailer";
    ctx->AddTrailingMetadata(trailer, value);
  }
}

void fillResponse(const EchoRequest& request, int32_t sequence, EchoResponse* response) {
  response->set_sequence(sequence);
  if (request.response_size() > 0) {
    // The pattern depends only on the size: refill only when the size changes
    // (a 1 GiB stream reuses one buffer).
    auto n = static_cast<size_t>(request.response_size());
    if (response->payload().size() != n) {
      std::string* p = response->mutable_payload();
      p->resize(n);
      fillPayload(p->data(), n, 0);
    }
  } else {
    response->set_payload(request.payload());
  }
}

namespace {

// One pending delay at a time per call; cancel() fires it early (ok=false) so
// a cancelled call does not linger until its delay is over.
class DelayTimer {
 public:
  void start(int delay_ms, std::function<void(bool)> fn) {
    {
      std::lock_guard lock(mu_);
      if (!cancelled_) {
        // Replacing the previous alarm from inside its own callback is safe:
        // grpc::Alarm's implementation is reference-counted by the pending callback.
        alarm_ = std::make_unique<grpc::Alarm>();
        alarm_->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(delay_ms), std::move(fn));
        return;
      }
    }
    fn(false);
  }
  void cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (alarm_) alarm_->Cancel();
  }

 private:
  std::mutex mu_;
  bool cancelled_ = false;
  std::unique_ptr<grpc::Alarm> alarm_;
};

// ---------------------------------------------------------------------------
// Unary

class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(EchoStats& stats, grpc::CallbackServerContext* ctx, const EchoRequest* request,
            EchoResponse* response)
      : stats_(stats), ctx_(ctx), request_(request), response_(response) {
    if (request->cancel_self()) {
      self_cancel_ = true;
      ctx->TryCancel();
      Finish(grpc::Status::CANCELLED);
      return;
    }
    timer_.start(request->delay_ms(), [this](bool) { complete(); });
  }

  void OnCancel() override {
    if (!self_cancel_) stats_.cancelObserved();
    timer_.cancel();
  }
  void OnDone() override {
    stats_.callFinished();
    delete this;
  }

 private:
  void complete() {
    if (ctx_->IsCancelled()) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    grpc::Status status = requestedStatus(*request_);
    if (status.ok()) fillResponse(*request_, 0, response_);
    Finish(status);
  }

  EchoStats& stats_;
  grpc::CallbackServerContext* ctx_;
  const EchoRequest* request_;
  EchoResponse* response_;
  bool self_cancel_ = false;
  DelayTimer timer_;
};

// ---------------------------------------------------------------------------
// Client streaming

class ClientStreamCall final : public grpc::ServerReadReactor<EchoRequest> {
 public:
  ClientStreamCall(EchoStats& stats, grpc::CallbackServerContext* ctx, EchoResponse* response)
      : stats_(stats), ctx_(ctx), response_(response) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      if (ctx_->IsCancelled()) {
        Finish(grpc::Status::CANCELLED);
        return;
      }
      // Half-close: answer once, after the delay.
      timer_.start(first_.delay_ms(), [this](bool) { complete(); });
      return;
    }
    ++requests_seen_;
    bytes_seen_ += static_cast<int64_t>(request_.payload().size());
    if (requests_seen_ == 1) {
      first_ = request_;
      // Initial metadata goes out with Finish(): still time to add to it.
      if (first_.echo_metadata()) echoMetadata(ctx_);
      if (first_.cancel_self()) {
        self_cancel_ = true;
        ctx_->TryCancel();
        Finish(grpc::Status::CANCELLED);
        return;
      }
      if (first_.read_delay_ms() > 0) {
        timer_.start(first_.read_delay_ms(), [this](bool) { StartRead(&request_); });
        return;
      }
    }
    StartRead(&request_);
  }

  void OnCancel() override {
    if (!self_cancel_) stats_.cancelObserved();
    timer_.cancel();
  }
  void OnDone() override {
    stats_.callFinished();
    delete this;
  }

 private:
  void complete() {
    if (ctx_->IsCancelled()) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    grpc::Status status = requestedStatus(first_);
    if (status.ok()) {
      fillResponse(first_, 0, response_);
      response_->set_requests_seen(requests_seen_);
      response_->set_request_bytes_seen(bytes_seen_);
    }
    Finish(status);
  }

  EchoStats& stats_;
  grpc::CallbackServerContext* ctx_;
  EchoResponse* response_;
  EchoRequest request_;
  EchoRequest first_;
  int32_t requests_seen_ = 0;
  int64_t bytes_seen_ = 0;
  bool self_cancel_ = false;
  DelayTimer timer_;
};

// ---------------------------------------------------------------------------
// Server streaming

class ServerStreamCall final : public grpc::ServerWriteReactor<EchoResponse> {
 public:
  ServerStreamCall(EchoStats& stats, grpc::CallbackServerContext* ctx, const EchoRequest* request)
      : stats_(stats), ctx_(ctx), request_(*request) {
    if (request_.cancel_self()) {
      self_cancel_ = true;
      ctx->TryCancel();
      Finish(grpc::Status::CANCELLED);
      return;
    }
    if (request_.status_code() != 0 && request_.fail_after() <= 0) {
      Finish(requestedStatus(request_));
      return;
    }
    limit_ = request_.fail_after() > 0 ? request_.fail_after() : std::max(1, request_.response_count());
    next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client went away
      Finish(grpc::Status::CANCELLED);
      return;
    }
    ++sent_;
    next();
  }
  void OnCancel() override {
    if (!self_cancel_) stats_.cancelObserved();
    timer_.cancel();
  }
  void OnDone() override {
    stats_.callFinished();
    delete this;
  }

 private:
  void next() {
    if (sent_ == limit_) {
      Finish(requestedStatus(request_));
      return;
    }
    if (request_.delay_ms() > 0) {
      timer_.start(request_.delay_ms(), [this](bool ok) {
        if (!ok || ctx_->IsCancelled()) {
          Finish(grpc::Status::CANCELLED);
          return;
        }
        write();
      });
    } else {
      write();
    }
  }
  void write() {
    fillResponse(request_, sent_, &response_);
    StartWrite(&response_);
  }

  EchoStats& stats_;
  grpc::CallbackServerContext* ctx_;
  const EchoRequest request_;
  EchoResponse response_;
  int32_t limit_ = 0;
  int32_t sent_ = 0;
  bool self_cancel_ = false;
  DelayTimer timer_;
};

// ---------------------------------------------------------------------------
// Bidi: strictly request -> response(s) -> next request (ping-pong).

class BidiCall final : public grpc::ServerBidiReactor<EchoRequest, EchoResponse> {
 public:
  BidiCall(EchoStats& stats, grpc::CallbackServerContext* ctx) : stats_(stats), ctx_(ctx) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(ctx_->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK);
      return;
    }
    ++requests_seen_;
    bytes_seen_ += static_cast<int64_t>(request_.payload().size());
    if (requests_seen_ == 1) {
      first_ = request_;
      first_.clear_payload();
      // Initial metadata goes out with the first write: still time to add to it.
      if (first_.echo_metadata()) echoMetadata(ctx_);
      if (first_.cancel_self()) {
        self_cancel_ = true;
        ctx_->TryCancel();
        Finish(grpc::Status::CANCELLED);
        return;
      }
      if (first_.status_code() != 0 && first_.fail_after() <= 0) {
        Finish(requestedStatus(first_));
        return;
      }
    }
    to_send_ = std::max(1, request_.response_count());
    next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    ++sent_;
    --to_send_;
    next();
  }
  void OnCancel() override {
    if (!self_cancel_) stats_.cancelObserved();
    timer_.cancel();
  }
  void OnDone() override {
    stats_.callFinished();
    delete this;
  }

 private:
  void next() {
    if (first_.fail_after() > 0 && sent_ == first_.fail_after()) {
      Finish(requestedStatus(first_));
      return;
    }
    if (to_send_ == 0) {
      StartRead(&request_);
      return;
    }
    if (request_.delay_ms() > 0) {
      timer_.start(request_.delay_ms(), [this](bool ok) {
        if (!ok || ctx_->IsCancelled()) {
          Finish(grpc::Status::CANCELLED);
          return;
        }
        write();
      });
    } else {
      write();
    }
  }
  void write() {
    fillResponse(request_, sent_, &response_);
    response_.set_requests_seen(requests_seen_);
    response_.set_request_bytes_seen(bytes_seen_);
    StartWrite(&response_);
  }

  EchoStats& stats_;
  grpc::CallbackServerContext* ctx_;
  EchoRequest request_;
  EchoRequest first_;
  EchoResponse response_;
  int32_t requests_seen_ = 0;
  int64_t bytes_seen_ = 0;
  int32_t to_send_ = 0;
  int32_t sent_ = 0;
  bool self_cancel_ = false;
  DelayTimer timer_;
};

}  // namespace

// ---------------------------------------------------------------------------
// EchoService

grpc::ServerUnaryReactor* EchoService::Unary(grpc::CallbackServerContext* ctx, const EchoRequest* request,
                                             EchoResponse* response) {
  stats_.callStarted(record_peers_ ? ctx->peer() : std::string());
  if (request->echo_metadata()) echoMetadata(ctx);
  if (request->delay_ms() > 0 || request->cancel_self()) {
    return new UnaryCall(stats_, ctx, request, response);
  }
  // Fast path (the benchmark's unary call): no reactor allocation.
  grpc::Status status = requestedStatus(*request);
  if (status.ok()) fillResponse(*request, 0, response);
  stats_.callFinished();
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerReadReactor<EchoRequest>* EchoService::ClientStream(grpc::CallbackServerContext* ctx,
                                                                EchoResponse* response) {
  stats_.callStarted(record_peers_ ? ctx->peer() : std::string());
  return new ClientStreamCall(stats_, ctx, response);
}

grpc::ServerWriteReactor<EchoResponse>* EchoService::ServerStream(grpc::CallbackServerContext* ctx,
                                                                  const EchoRequest* request) {
  stats_.callStarted(record_peers_ ? ctx->peer() : std::string());
  if (request->echo_metadata()) echoMetadata(ctx);
  return new ServerStreamCall(stats_, ctx, request);
}

grpc::ServerBidiReactor<EchoRequest, EchoResponse>* EchoService::Bidi(grpc::CallbackServerContext* ctx) {
  stats_.callStarted(record_peers_ ? ctx->peer() : std::string());
  return new BidiCall(stats_, ctx);
}

}  // namespace grpcscope::testsupport
