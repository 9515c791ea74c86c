#include "support/loadgen.h"

#include <grpc/grpc_security.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "echo.grpc.pb.h"

namespace grpcscope::testsupport {

using grpcscope::test::Echo;
using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

const char* scenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kUnary: return "unary";
    case Scenario::kServerStream: return "server-stream";
    case Scenario::kBidiPingPong: return "bidi-pingpong";
  }
  return "?";
}

double LoadResult::percentileUs(double q) const {
  if (latencies_us.empty()) return 0;
  auto i = static_cast<size_t>(q * static_cast<double>(latencies_us.size()));
  return latencies_us[std::min(i, latencies_us.size() - 1)];
}

namespace {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::chrono::system_clock::time_point wallDeadline(int64_t steady_ns) {
  return std::chrono::system_clock::now() + std::chrono::nanoseconds(steady_ns - nowNs());
}

struct Tag {
  virtual void proceed(bool ok) = 0;

 protected:
  ~Tag() = default;
};

template <class T, void (T::*F)(bool)>
struct MemberTag final : Tag {
  explicit MemberTag(T* self) : self(self) {}
  void proceed(bool ok) override { (self->*F)(ok); }
  T* self;
};

struct Shared {
  explicit Shared(const LoadOptions& o) : options(o) {}
  const LoadOptions& options;
  EchoRequest request;  // read-only once the load runs
  // Read-only once the load runs; every channel gets a copy of the arguments
  // plus a number of its own.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments channel_args;
  std::atomic<int> next_channel{0};
  int64_t start_ns = 0;
  int64_t measure_from_ns = 0;
  std::atomic<int64_t> measure_until_ns{LLONG_MAX};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_ticket{0};
  std::atomic<int> live_slots{0};
  std::mutex mu;
  std::condition_variable all_retired;

  // A channel on its own TCP connection (see the header comment): gRPC
  // connects it on its first call.
  std::shared_ptr<grpc::Channel> newChannel() {
    grpc::ChannelArguments args = channel_args;
    args.SetInt("grpcscope.loadgen.connection", next_channel.fetch_add(1, std::memory_order_relaxed));
    return grpc::CreateCustomChannel(options.target, credentials, args);
  }
};

// A completion queue and the one thread that drains it.
struct Poller {
  grpc::CompletionQueue cq;
  std::thread thread;

  void run() {
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) static_cast<Tag*>(tag)->proceed(ok);
  }
};

// Everything one connection owns. All its calls complete on one poller, so
// its stats are touched by that poller's thread only.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Echo::Stub> stub;
  grpc::CompletionQueue* cq = nullptr;
  uint64_t operations = 0, ok = 0, messages = 0, bytes = 0;
  uint64_t tls_handshakes = 0, tls_resumed = 0;
  std::array<uint64_t, 17> errors{};
  std::vector<uint32_t> latencies_us;
};

class Slot {
 public:
  Slot(Shared& shared, Connection& conn) : s_(shared), c_(conn), alarm_tag_(this) {}
  virtual ~Slot() = default;

  // Starts the next operation now, at its scheduled time (--rate), or retires.
  void next() {
    if (s_.stopping.load(std::memory_order_relaxed)) {
      onStop();
      return;
    }
    int64_t now = nowNs();
    if (s_.options.rate > 0) {
      if (scheduled_ns_ == 0) {
        uint64_t ticket = s_.next_ticket.fetch_add(1);
        scheduled_ns_ = s_.start_ns + static_cast<int64_t>(static_cast<double>(ticket) * 1e9 / s_.options.rate);
      }
      if (scheduled_ns_ > now) {
        // Wake at least every 100 ms so a stop is seen promptly.
        alarm_.Set(c_.cq, wallDeadline(std::min(scheduled_ns_, now + 100'000'000)), &alarm_tag_);
        return;
      }
      // Latency counts from the scheduled start (no coordinated omission).
      now = scheduled_ns_;
      scheduled_ns_ = 0;
    }
    begin(now);
  }

  void cancel() {
    std::lock_guard lock(ctx_mu_);
    if (ctx_) ctx_->TryCancel();
  }

 protected:
  virtual void begin(int64_t start_ns) = 0;
  virtual void onStop() { retire(); }

  void retire() {
    if (s_.live_slots.fetch_sub(1) == 1) {
      std::lock_guard lock(s_.mu);
      s_.all_retired.notify_all();
    }
  }

  // The previous call's reader lives in the previous context's arena: the
  // caller resets its reader before asking for a new context.
  grpc::ClientContext* newContext() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    std::lock_guard lock(ctx_mu_);
    ctx_ = std::move(ctx);
    return ctx_.get();
  }

  // --connection-per-call: this slot's connection is its own; a new channel
  // per call, dropped once the call is recorded.
  bool perCall() const { return s_.options.connection_per_call; }
  void openConnection() {
    c_.channel = s_.newChannel();
    c_.stub = Echo::NewStub(c_.channel);
  }
  // After the call was recorded, before the reader is reset: whether the
  // connection's TLS handshake resumed a session, then the channel goes (the
  // context holds a reference to it too).
  void countHandshake(bool counted) {
    if (!counted || s_.options.tls_ca_pem.empty()) return;
    std::lock_guard lock(ctx_mu_);
    if (!ctx_) return;
    auto auth = ctx_->auth_context();
    ++c_.tls_handshakes;
    if (auth) {
      auto reused = auth->FindPropertyValues(GRPC_SSL_SESSION_REUSED_PROPERTY);
      if (!reused.empty() && reused.front() == "true") ++c_.tls_resumed;
    }
  }
  void dropConnection() {
    {
      std::lock_guard lock(ctx_mu_);
      ctx_.reset();
    }
    c_.stub.reset();
    c_.channel.reset();
  }

  // Returns whether the operation fell into the measured window.
  bool record(int64_t start_ns, int code, uint64_t bytes, uint64_t messages) {
    int64_t end = nowNs();
    if (end < s_.measure_from_ns || end > s_.measure_until_ns.load(std::memory_order_relaxed)) return false;
    ++c_.operations;
    c_.bytes += bytes;
    c_.messages += messages;
    if (code == 0) {
      ++c_.ok;
      c_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>((end - start_ns) / 1000, UINT32_MAX)));
    } else {
      ++c_.errors[std::clamp(code, 0, 16)];
    }
    return true;
  }

  Shared& s_;
  Connection& c_;

 private:
  void onAlarm(bool) { next(); }

  grpc::Alarm alarm_;
  MemberTag<Slot, &Slot::onAlarm> alarm_tag_;
  int64_t scheduled_ns_ = 0;
  std::mutex ctx_mu_;
  std::unique_ptr<grpc::ClientContext> ctx_;
};

class UnarySlot final : public Slot {
 public:
  using Slot::Slot;

 private:
  void begin(int64_t start_ns) override {
    start_ns_ = start_ns;
    rpc_.reset();
    if (perCall()) openConnection();
    rpc_ = c_.stub->PrepareAsyncUnary(newContext(), s_.request, c_.cq);
    rpc_->StartCall();
    rpc_->Finish(&response_, &status_, &done_tag_);
  }
  void onDone(bool) {
    bool counted =
        record(start_ns_, status_.error_code(), s_.request.payload().size() + response_.payload().size(), 1);
    if (perCall()) {
      countHandshake(counted && status_.ok());
      rpc_.reset();
      dropConnection();
    }
    next();
  }

  int64_t start_ns_ = 0;
  EchoResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<EchoResponse>> rpc_;
  MemberTag<UnarySlot, &UnarySlot::onDone> done_tag_{this};
};

class ServerStreamSlot final : public Slot {
 public:
  using Slot::Slot;

 private:
  void begin(int64_t start_ns) override {
    start_ns_ = start_ns;
    messages_ = 0;
    bytes_ = s_.request.payload().size();
    rpc_.reset();
    if (perCall()) openConnection();
    rpc_ = c_.stub->PrepareAsyncServerStream(newContext(), s_.request, c_.cq);
    rpc_->StartCall(&read_tag_);
  }
  // The first completion is the call start, the following ones are reads.
  void onRead(bool ok) {
    if (!ok) {
      rpc_->Finish(&status_, &finish_tag_);
      return;
    }
    if (started_) {
      ++messages_;
      bytes_ += response_.payload().size();
    }
    started_ = true;
    rpc_->Read(&response_, &read_tag_);
  }
  void onFinish(bool) {
    started_ = false;
    bool counted = record(start_ns_, status_.error_code(), bytes_, messages_);
    if (perCall()) {
      countHandshake(counted && status_.ok());
      rpc_.reset();
      dropConnection();
    }
    next();
  }

  int64_t start_ns_ = 0;
  uint64_t messages_ = 0, bytes_ = 0;
  bool started_ = false;
  EchoResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncReader<EchoResponse>> rpc_;
  MemberTag<ServerStreamSlot, &ServerStreamSlot::onRead> read_tag_{this};
  MemberTag<ServerStreamSlot, &ServerStreamSlot::onFinish> finish_tag_{this};
};

// One long-lived stream per slot; an operation is one write + one read.
class BidiSlot final : public Slot {
 public:
  using Slot::Slot;

 private:
  void begin(int64_t start_ns) override {
    start_ns_ = start_ns;
    if (!open_) {
      open_ = true;
      rpc_.reset();
      rpc_ = c_.stub->PrepareAsyncBidi(newContext(), c_.cq);
      rpc_->StartCall(&start_tag_);
      return;
    }
    roundTrip();
  }
  void onStart(bool ok) {
    if (!ok) {
      finish();
      return;
    }
    roundTrip();
  }
  void roundTrip() {
    pending_ = 2;
    write_ok_ = read_ok_ = false;
    rpc_->Write(s_.request, &write_tag_);
    rpc_->Read(&response_, &read_tag_);
  }
  void onWrite(bool ok) {
    write_ok_ = ok;
    if (--pending_ == 0) roundTripDone();
  }
  void onRead(bool ok) {
    read_ok_ = ok;
    if (--pending_ == 0) roundTripDone();
  }
  void roundTripDone() {
    if (!write_ok_ || !read_ok_) {
      finish();
      return;
    }
    record(start_ns_, 0, s_.request.payload().size() + response_.payload().size(), 1);
    next();
  }
  void onStop() override {
    if (!open_) {
      retire();
      return;
    }
    closing_ = true;
    rpc_->WritesDone(&writes_done_tag_);
  }
  void onWritesDone(bool) { finish(); }
  void finish() { rpc_->Finish(&status_, &finish_tag_); }
  void onFinish(bool) {
    open_ = false;
    if (closing_) {
      retire();
      return;
    }
    // The stream broke mid-run: count the failed round trip, open a new one.
    int code = status_.ok() ? grpc::StatusCode::UNKNOWN : status_.error_code();
    record(start_ns_, code, 0, 0);
    next();
  }

  int64_t start_ns_ = 0;
  bool open_ = false;
  bool closing_ = false;
  int pending_ = 0;
  bool write_ok_ = false, read_ok_ = false;
  EchoResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<EchoRequest, EchoResponse>> rpc_;
  MemberTag<BidiSlot, &BidiSlot::onStart> start_tag_{this};
  MemberTag<BidiSlot, &BidiSlot::onWrite> write_tag_{this};
  MemberTag<BidiSlot, &BidiSlot::onRead> read_tag_{this};
  MemberTag<BidiSlot, &BidiSlot::onWritesDone> writes_done_tag_{this};
  MemberTag<BidiSlot, &BidiSlot::onFinish> finish_tag_{this};
};

}  // namespace

bool runLoad(const LoadOptions& options, LoadResult* result, std::string* error) {
  if (options.connection_per_call && options.scenario == Scenario::kBidiPingPong) {
    *error = "a new connection per call needs a unary or server-stream scenario";
    return false;
  }
  Shared shared(options);
  shared.request.set_payload(std::string(static_cast<size_t>(options.request_size), 'x'));
  shared.request.set_response_size(options.response_size);
  if (options.scenario == Scenario::kServerStream) shared.request.set_response_count(options.stream_messages);

  // One TCP connection per channel (see the header comment).
  shared.channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  shared.channel_args.SetMaxReceiveMessageSize(-1);
  shared.channel_args.SetMaxSendMessageSize(-1);
  // Dropped at return; each ChannelArguments copy and channel holds its own
  // reference through the argument's vtable.
  std::unique_ptr<grpc_ssl_session_cache, void (*)(grpc_ssl_session_cache*)> session_cache(
      nullptr, grpc_ssl_session_cache_destroy);
  if (options.tls_ca_pem.empty()) {
    shared.credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_ca_pem;
    shared.credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) shared.channel_args.SetSslTargetNameOverride(options.tls_server_name);
    if (options.tls_resume) {
      session_cache.reset(grpc_ssl_session_cache_create_lru(64));
      grpc_arg arg = grpc_ssl_session_cache_create_channel_arg(session_cache.get());
      shared.channel_args.SetPointerWithVtable(arg.key, arg.value.pointer.p, arg.value.pointer.vtable);
    }
  }
  auto cannotConnect = [&] {
    *error = "cannot connect to " + options.target;
    if (!options.tls_ca_pem.empty()) *error += " over TLS (check the CA and --tls-server-name)";
  };

  // With a connection per call, each slot has a connection record of its own
  // (its channel changes from call to call).
  int connection_count = options.connection_per_call ? options.concurrency : options.connections;
  int threads = options.threads > 0 ? options.threads
                                    : std::min(connection_count,
                                               std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  std::vector<std::unique_ptr<Poller>> pollers;
  for (int i = 0; i < threads; ++i) pollers.push_back(std::make_unique<Poller>());
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < connection_count; ++i) {
    auto conn = std::make_unique<Connection>();
    conn->cq = &pollers[static_cast<size_t>(i % threads)]->cq;
    if (!options.connection_per_call) {
      conn->channel = shared.newChannel();
      if (!conn->channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
        cannotConnect();
        return false;
      }
      conn->stub = Echo::NewStub(conn->channel);
    }
    connections.push_back(std::move(conn));
  }
  if (options.connection_per_call) {
    // One probe, so that an unreachable target or a TLS failure is an error
    // of the run rather than a stream of failed calls.
    auto probe = shared.newChannel();
    if (!probe->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      cannotConnect();
      return false;
    }
  }

  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < options.concurrency; ++i) {
    Connection& conn = *connections[static_cast<size_t>(i) % connections.size()];
    switch (options.scenario) {
      case Scenario::kUnary: slots.push_back(std::make_unique<UnarySlot>(shared, conn)); break;
      case Scenario::kServerStream: slots.push_back(std::make_unique<ServerStreamSlot>(shared, conn)); break;
      case Scenario::kBidiPingPong: slots.push_back(std::make_unique<BidiSlot>(shared, conn)); break;
    }
  }

  shared.start_ns = nowNs();
  shared.measure_from_ns = shared.start_ns + static_cast<int64_t>(options.warmup_s * 1e9);
  shared.live_slots = static_cast<int>(slots.size());
  for (auto& poller : pollers) poller->thread = std::thread([p = poller.get()] { p->run(); });
  for (auto& slot : slots) slot->next();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (options.duration_s > 0) {
    double total = options.duration_s + options.warmup_s;
    timespec timeout{static_cast<time_t>(total), static_cast<long>((total - std::floor(total)) * 1e9)};
    int64_t until = shared.start_ns + static_cast<int64_t>(total * 1e9);
    // Retry on EINTR and on early EAGAIN; stop at the deadline or a signal.
    while (sigtimedwait(&signals, nullptr, &timeout) < 0 && errno != EAGAIN) {
      int64_t left = until - nowNs();
      if (left <= 0) break;
      timeout = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    }
  } else {
    int sig = 0;
    sigwait(&signals, &sig);
  }

  shared.measure_until_ns = nowNs();
  shared.stopping = true;
  {
    std::unique_lock lock(shared.mu);
    if (!shared.all_retired.wait_for(lock, std::chrono::seconds(15), [&] { return shared.live_slots == 0; })) {
      lock.unlock();
      for (auto& slot : slots) slot->cancel();
      lock.lock();
      shared.all_retired.wait_for(lock, std::chrono::seconds(15), [&] { return shared.live_slots == 0; });
    }
  }
  for (auto& poller : pollers) poller->cq.Shutdown();
  for (auto& poller : pollers) poller->thread.join();

  *result = LoadResult{};
  result->seconds = std::max(0.0, static_cast<double>(shared.measure_until_ns.load() - shared.measure_from_ns) / 1e9);
  for (auto& conn : connections) {
    result->operations += conn->operations;
    result->ok += conn->ok;
    result->messages += conn->messages;
    result->bytes += conn->bytes;
    result->tls_handshakes += conn->tls_handshakes;
    result->tls_resumed += conn->tls_resumed;
    for (size_t i = 0; i < conn->errors.size(); ++i) result->errors[i] += conn->errors[i];
    result->latencies_us.insert(result->latencies_us.end(), conn->latencies_us.begin(), conn->latencies_us.end());
  }
  std::sort(result->latencies_us.begin(), result->latencies_us.end());
  return true;
}

}  // namespace grpcscope::testsupport
