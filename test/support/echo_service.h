// The echo service (test/proto/echo.proto), callback API, all four call
// types. What the server does is chosen per call by EchoRequest fields:
//   payload / response_size  response payload: response_size bytes of
//                            makePayload(response_size, sequence), or, when 0,
//                            the request payload echoed back
//   response_count           server streaming: messages to send (0 means 1);
//                            bidi: responses per request (0 means 1)
//   delay_ms                 wait before each response message (and before the
//                            unary/client-streaming response)
//   status_code/message/     finish with this status; status_details becomes
//   status_details           grpc-status-details-bin. Without fail_after the
//                            call fails before any response (trailers-only).
//   fail_after               streaming: send this many responses, then finish
//                            with status_code
//   echo_metadata            request metadata keys starting with "x-echo-" are
//                            copied into initial metadata unchanged and into
//                            trailing metadata as "<key>-trailer" ("-bin" keys:
//                            "<base>-trailer-bin", so they stay binary)
//   cancel_self              the server calls TryCancel() (stream reset)
// Streaming calls take their behaviour from the first request message.
//
// EchoStats records what the server observed so tests can wait on it:
// calls, in-flight and peak in-flight calls, cancellations seen by the
// server (OnCancel, excluding its own TryCancel), and distinct peers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "echo.grpc.pb.h"

namespace grpcscope::testsupport {

class EchoStats {
 public:
  void callStarted(const std::string& peer);
  void callFinished();
  void cancelObserved();

  int64_t callsStarted() const { return calls_started_.load(); }
  int64_t callsFinished() const { return calls_finished_.load(); }
  int64_t inFlight() const { return in_flight_.load(); }
  int64_t peakInFlight() const { return peak_in_flight_.load(); }
  int64_t cancelsObserved() const { return cancels_observed_.load(); }
  std::set<std::string> peers() const;
  size_t distinctPeers() const;
  void reset();

 private:
  std::atomic<int64_t> calls_started_{0};
  std::atomic<int64_t> calls_finished_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> peak_in_flight_{0};
  std::atomic<int64_t> cancels_observed_{0};
  mutable std::mutex mu_;
  std::set<std::string> peers_;
};

class EchoService final : public grpcscope::test::Echo::CallbackService {
 public:
  // record_peers: keep ServerContext::peer() of every call (a mutex per call;
  // off in the benchmark server).
  explicit EchoService(bool record_peers = true) : record_peers_(record_peers) {}

  EchoStats& stats() { return stats_; }

  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx,
                                  const grpcscope::test::EchoRequest* request,
                                  grpcscope::test::EchoResponse* response) override;
  grpc::ServerReadReactor<grpcscope::test::EchoRequest>* ClientStream(
      grpc::CallbackServerContext* ctx, grpcscope::test::EchoResponse* response) override;
  grpc::ServerWriteReactor<grpcscope::test::EchoResponse>* ServerStream(
      grpc::CallbackServerContext* ctx, const grpcscope::test::EchoRequest* request) override;
  grpc::ServerBidiReactor<grpcscope::test::EchoRequest, grpcscope::test::EchoResponse>* Bidi(
      grpc::CallbackServerContext* ctx) override;

 private:
  const bool record_peers_;
  EchoStats stats_;
};

// "OK", "CANCELLED", ... "UNAUTHENTICATED" for grpc status codes 0..16.
const char* statusCodeName(int code);

// The status a request asks for (OK when status_code is 0).
grpc::Status requestedStatus(const grpcscope::test::EchoRequest& request);

// Copies x-echo-* request metadata into ctx's initial and trailing metadata.
void echoMetadata(grpc::CallbackServerContext* ctx);

// Fills response->payload for message number `sequence` of a call.
void fillResponse(const grpcscope::test::EchoRequest& request, int32_t sequence,
                  grpcscope::test::EchoResponse* response);

}  // namespace grpcscope::testsupport
