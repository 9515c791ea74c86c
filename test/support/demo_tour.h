// The demo's tour (grpcscope-demo-tour, scripts/demo.sh): real gRPC C++
// clients that make, one after another, the problems grpcscope diagnoses, so
// that findings are raised on the page and resolve once each problem stops.
// Every step is a client doing one thing wrong against the echo service
// (test/proto/echo.proto) through grpcscope; nothing is faked and grpcscope
// is never told what comes. docs/findings.md gives each finding's trigger and
// window, hence how soon after its step it resolves: 10 s windows and live
// connections within about 15 s, 60 s windows about a minute later (while
// the next steps run), and serialization.unpacked_repeated_field, which
// describes the messages' shape (cumulative), not before that method's
// sampled bytes make packing save less than 5 %.
//
// What the steps expect of the server: the echo service with gRPC's default
// keepalive enforcement (gRPC core: no PINGs closer than 5 minutes while
// calls are open, GOAWAY ENHANCE_YOUR_CALM "too_many_pings" after two
// strikes; gRPC's doc/keepalive.md) and SETTINGS_MAX_CONCURRENT_STREAMS set
// to TourOptions::server_stream_limit (grpcscope-echo-server
// --max-concurrent-streams N).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace grpcscope::testsupport {

// Set once (SIGINT/SIGTERM, or the end of the tour); wakes every waiter.
class StopSignal {
 public:
  void stop();
  bool stopped() const { return stopped_.load(); }
  // Waits until `until` or stop(); false when stopped.
  bool waitUntil(std::chrono::steady_clock::time_point until);

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct TourOptions {
  std::string target;            // grpcscope's listening address
  int server_stream_limit = 100; // the server's SETTINGS_MAX_CONCURRENT_STREAMS
};

// One running step: its deadline and the tour's stop signal.
class StepRun {
 public:
  StepRun(const TourOptions& options, StopSignal& stop, std::chrono::steady_clock::time_point until)
      : options_(options), stop_(stop), until_(until) {}

  const TourOptions& options() const { return options_; }
  const std::string& target() const { return options_.target; }
  // True until the step's time is up or the tour is stopped.
  bool going() const { return !stop_.stopped() && std::chrono::steady_clock::now() < until_; }
  // Sleeps `d` (less when the step ends first); returns going().
  bool sleep(std::chrono::milliseconds d);
  std::chrono::steady_clock::time_point until() const { return until_; }

 private:
  const TourOptions& options_;
  StopSignal& stop_;
  std::chrono::steady_clock::time_point until_;
};

struct TourStep {
  std::string name;                   // for --steps: churn, keepalive, ...
  std::string what;                   // "a client reconnecting for every call"
  std::vector<std::string> findings;  // the ids it raises (docs/findings.md)
  std::string resolves;               // when they resolve after the step, in words
  // Runs the problem until run.going() is false; returns a one-line summary
  // of what the client did and saw ("312 calls on 312 connections").
  std::function<std::string(StepRun& run)> run;
};

// Every step, in the tour's order.
const std::vector<TourStep>& tourSteps();

}  // namespace grpcscope::testsupport
