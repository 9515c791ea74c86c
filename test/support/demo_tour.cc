#include "support/demo_tour.h"

#include <google/protobuf/unknown_field_set.h>

#include <memory>
#include <thread>

#include "support/echo_service.h"
#include "support/grpc_client.h"

namespace grpcscope::testsupport {

using namespace std::chrono_literals;
using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;
using Clock = std::chrono::steady_clock;

void StopSignal::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

bool StopSignal::waitUntil(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, until, [this] { return stopped_.load(); });
  return !stopped_;
}

bool StepRun::sleep(std::chrono::milliseconds d) {
  stop_.waitUntil(std::min(Clock::now() + d, until_));
  return going();
}

namespace {

// Paces a loop at `per_second` iterations (sleeping off what is left of each period).
class Pace {
 public:
  explicit Pace(double per_second)
      : period_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_second))),
        next_(Clock::now()) {}
  bool next(StepRun& run) {
    next_ += period_;
    auto now = Clock::now();
    if (next_ < now) next_ = now;  // late: do not burst to catch up
    return run.sleep(std::chrono::duration_cast<std::chrono::milliseconds>(next_ - now));
  }

 private:
  Clock::duration period_;
  Clock::time_point next_;
};

// A deadline for one call: `d` from now, but not much past the step's end,
// so that stopping the tour never waits on a call for long.
std::chrono::system_clock::time_point callDeadline(const StepRun& run, std::chrono::milliseconds d) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(run.until() - Clock::now()) + 2s;
  return deadlineFromNow(std::max(100ms, std::min(d, left)));
}

std::string count(uint64_t n, const std::string& what) { return std::to_string(n) + " " + what; }

// --- connection.churn ------------------------------------------------------
// A new channel (so a new TCP connection) for every unary call, dropped after
// it: the mistake of building a stub's channel inside the request handler.
std::string churn(StepRun& run) {
  uint64_t ok = 0, failed = 0;
  Pace pace(20);
  do {
    auto stub = makeStub(makeChannel(run.target()));  // separate_connection: a TCP connection of its own
    EchoRequest req;
    req.set_payload("one call, one connection");
    EchoResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(callDeadline(run, 5s));
    ++(stub->Unary(&ctx, req, &resp).ok() ? ok : failed);
  } while (pace.next(run));
  return count(ok, "calls") + ", each on a connection of its own" + (failed ? ", " + count(failed, "failed") : "");
}

// --- keepalive.ping_strikes_predicted, keepalive.too_many_pings -------------
// keepalive_time 1 s with a bidi call held open and nothing sent on it: the
// server's default policy allows one PING per 5 minutes while calls are open,
// so its third early PING earns GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
// The channel reconnects (gRPC core doubles its keepalive time after such a
// GOAWAY) and is refused again, until the step ends.
std::string keepalive(StepRun& run) {
  ChannelOptions options;
  options.int_args = {
      {GRPC_ARG_KEEPALIVE_TIME_MS, 1000},
      {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000},
      {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
      {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0},  // else gRPC core stops after 2 PINGs without data
  };
  auto ch = makeChannel(run.target(), options);
  auto stub = makeStub(ch);
  uint64_t held = 0, closed_by_server = 0;
  while (run.going()) {
    grpc::ClientContext ctx;
    ctx.set_deadline(callDeadline(run, 60s));
    auto stream = stub->Bidi(&ctx);
    EchoRequest req;
    req.set_payload("a call held open");
    stream->Write(req);
    ++held;
    std::atomic<bool> ended{false};
    std::thread reader([&] {
      EchoResponse r;
      while (stream->Read(&r)) {
      }
      ended = true;
    });
    while (!ended && run.sleep(50ms)) {
    }
    bool by_server = ended.load();
    ctx.TryCancel();
    reader.join();
    stream->Finish();
    if (by_server && run.going()) ++closed_by_server;
    run.sleep(200ms);
  }
  return count(held, "held calls") + ", " + count(closed_by_server, "ended by the server's GOAWAY");
}

// --- flow_control.slow_reader ----------------------------------------------
// A server stream of 256 KiB messages read one every 150 ms, with BDP probing
// off (64 KiB windows, as Go's or Java's fixed windows): the client's stream
// window reopens only as its application reads.
std::string slowReader(StepRun& run) {
  ChannelOptions options;
  options.int_args = {{GRPC_ARG_HTTP2_BDP_PROBE, 0}};
  auto stub = makeStub(makeChannel(run.target(), options));
  uint64_t read = 0;
  while (run.going()) {
    grpc::ClientContext ctx;
    ctx.set_deadline(callDeadline(run, 120s));
    EchoRequest req;
    req.set_payload("a large report");
    req.set_response_size(256 << 10);
    req.set_response_count(100000);
    auto reader = stub->ServerStream(&ctx, req);
    EchoResponse m;
    while (run.going() && reader->Read(&m)) {
      ++read;
      run.sleep(150ms);  // the deliberately slow reader
    }
    ctx.TryCancel();
    reader->Finish();
  }
  return count(read, "messages of 256 KiB read, one every 150 ms");
}

// --- connection.max_concurrent_streams_saturated ---------------------------
// One channel (one connection) with 30 more server streams in flight than the
// server's SETTINGS_MAX_CONCURRENT_STREAMS: the rest queue in the client.
// Streams (5 messages, 200 ms apart) rather than unary calls, so that the
// handler's time is not also application.server_time_dominates.
std::string streamLimit(StepRun& run) {
  auto ch = makeChannel(run.target());
  waitConnected(ch, 5s);
  const int n = run.options().server_stream_limit + 30;
  std::atomic<uint64_t> ok{0}, failed{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < n; ++i) {
    callers.emplace_back([&] {
      auto stub = makeStub(ch);
      while (run.going()) {
        grpc::ClientContext ctx;
        ctx.set_deadline(callDeadline(run, 10s));
        EchoRequest req;
        req.set_payload("watch");
        req.set_response_size(64);
        req.set_response_count(5);
        req.set_delay_ms(200);
        auto reader = stub->ServerStream(&ctx, req);
        EchoResponse m;
        while (reader->Read(&m)) {
        }
        ++(reader->Finish().ok() ? ok : failed);
      }
    });
  }
  for (auto& t : callers) t.join();
  return count(ok, "streams") + " with " + std::to_string(n) + " in flight on one connection (the server allows " +
         std::to_string(run.options().server_stream_limit) + ")" + (failed ? ", " + count(failed, "failed") : "");
}

// --- serialization.unpacked_repeated_field ---------------------------------
// Unary requests carrying a repeated int32 (field 20, 300 elements) written
// unpacked, one tag per element, as a proto2 schema (or [packed = false])
// sends it. The echo server keeps it as an unknown field and ignores it.
std::string unpacked(StepRun& run) {
  auto stub = makeStub(makeChannel(run.target()));
  uint64_t ok = 0, failed = 0;
  Pace pace(40);  // grpcscope samples 1 message in 16: 8 samples in under 4 s
  do {
    EchoRequest req;
    req.set_payload("stock levels");
    google::protobuf::UnknownFieldSet* unknown = req.GetReflection()->MutableUnknownFields(&req);
    for (int k = 0; k < 300; ++k) unknown->AddVarint(20, static_cast<uint64_t>((k * 7 + ok) % 120));
    EchoResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(callDeadline(run, 5s));
    ++(stub->Unary(&ctx, req, &resp).ok() ? ok : failed);
  } while (pace.next(run));
  return count(ok, "calls with 300 unpacked varints each") + (failed ? ", " + count(failed, "failed") : "");
}

// --- application.error_rate (DEADLINE_EXCEEDED), application.server_time_dominates
// Client-streaming calls with a 150 ms deadline to a handler that takes
// 120 ms, and 300 ms for one call in three: those end DEADLINE_EXCEEDED, and
// nearly all of every call's time is the server's. (With a fast handler for
// the other calls, the server's share would hover at the rule's 80 % and the
// second finding would come and go.) server_time_dominates counts only
// unary-shaped methods, at most one request message per finished call: while
// calls are in flight their requests count without them, so it comes as the
// step ends.
std::string deadline(StepRun& run) {
  auto stub = makeStub(makeChannel(run.target()));
  std::atomic<uint64_t> ok{0}, expired{0}, other{0}, calls{0};
  // Two callers, each as fast as the handler answers (about 7 calls a
  // second): error_rate's 10 errors within the step's first seconds.
  auto caller = [&] {
    Pace pace(10);
    do {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadlineFromNow(150ms));
      EchoResponse resp;
      auto writer = stub->ClientStream(&ctx, &resp);
      EchoRequest req;
      req.set_payload("order");
      req.set_response_size(16);
      req.set_delay_ms(calls++ % 3 == 2 ? 300 : 120);
      writer->Write(req);
      writer->WritesDone();
      grpc::Status st = writer->Finish();
      if (st.ok()) ++ok;
      else if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) ++expired;
      else ++other;
    } while (pace.next(run));
  };
  std::thread second(caller);
  caller();
  second.join();
  return count(calls, "calls") + ", " + count(expired, "DEADLINE_EXCEEDED") +
         (other ? ", " + count(other, "other errors") : "");
}

// JSON-like text: repetitive, as real records are; zlib shrinks it well.
std::string jsonRecords(size_t n, uint64_t seed) {
  std::string s;
  uint64_t i = seed;
  while (s.size() < n) {
    s += "{\"order_id\": " + std::to_string(100000 + i) + ", \"status\": \"" + (i % 3 ? "shipped" : "pending") +
         "\", \"warehouse\": \"north-" + std::to_string(i % 9) + "\", \"customer\": {\"tier\": \"gold\", \"region\": "
         "\"eu-west\"}, \"items\": [{\"sku\": \"A-" + std::to_string(i % 97) + "\", \"qty\": " +
         std::to_string(i % 5 + 1) + "}]},\n";
    ++i;
  }
  s.resize(n);
  return s;
}

// --- serialization.compressible_uncompressed -------------------------------
// A bidi stream uploading 32 KiB of JSON text per message, 20 a second,
// without grpc-encoding. The text is split between the payload (field 1) and
// a second string field (21), as a record with a body and an attachment is,
// so that no single field carries 80 % of the bytes (that would also be
// serialization.dominant_field, which describes the schema and stays).
std::string compressible(StepRun& run) {
  auto stub = makeStub(makeChannel(run.target()));
  uint64_t sent = 0;
  while (run.going()) {
    grpc::ClientContext ctx;
    ctx.set_deadline(callDeadline(run, 60s));
    auto stream = stub->Bidi(&ctx);
    std::thread reader([&] {
      EchoResponse r;
      while (stream->Read(&r)) {
      }
    });
    Pace pace(20);
    do {
      EchoRequest req;
      req.set_payload(jsonRecords(20 << 10, sent));
      req.set_response_size(16);
      req.GetReflection()->MutableUnknownFields(&req)->AddLengthDelimited(21, jsonRecords(12 << 10, sent + 7));
      if (!stream->Write(req)) break;
      ++sent;
    } while (pace.next(run));
    stream->WritesDone();
    reader.join();
    stream->Finish();
  }
  return count(sent, "messages of 32 KiB of text, uncompressed");
}

}  // namespace

const std::vector<TourStep>& tourSteps() {
  static const std::vector<TourStep> steps = {
      {"churn", "a client reconnecting for every call", {"connection.churn"},
       "It resolves about 15 s later (10 s window).", churn},
      {"keepalive", "a client whose keepalive pings a strict server every second",
       {"keepalive.ping_strikes_predicted", "keepalive.too_many_pings"},
       "The prediction resolves once the refused connection is gone, too_many_pings about a minute after the last "
       "GOAWAY (60 s window).",
       keepalive},
      {"slow-reader", "a reader too slow for its window (256 KiB messages, one read every 150 ms)",
       {"flow_control.slow_reader"}, "It resolves about a minute later (60 s window).", slowReader},
      {"stream-limit", "a client with more streams in flight than the server allows on one connection",
       {"connection.max_concurrent_streams_saturated"}, "It resolves about 15 s later (10 s window).", streamLimit},
      {"unpacked", "a method sending a repeated field unpacked (one tag per element)",
       {"serialization.unpacked_repeated_field"},
       "It stays: it describes the messages' shape, counted since grpcscope started.", unpacked},
      {"deadline", "a handler slower than its clients' 150 ms deadline one call in three (DEADLINE_EXCEEDED)",
       {"application.error_rate", "application.server_time_dominates"},
       "They resolve about a minute later (60 s window).", deadline},
      {"compressible", "a client uploading JSON text without compression",
       {"serialization.compressible_uncompressed"}, "It resolves about a minute later (60 s window).", compressible},
  };
  return steps;
}

}  // namespace grpcscope::testsupport
