// Upstream failures become gRPC UNAVAILABLE (14) with a grpc-message naming
// the cause: nothing listening (refused), the server dying mid-call, a
// server that accepts TCP but never speaks HTTP/2 (connect timeout). After a
// failure, new connections fail fast during the backoff instead of
// hammering the server (attempts counted on a loopback listener). A server
// that restarts while many clients call is one failure, not one per client:
// calls succeed again within about a second of the server being back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <thread>

#include "proxy_fixture.h"
#include "support/loopback.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A listener on a fixed 127.0.0.1 port, standing in for a server that is
// restarting: its port accepts connections, then closes them at once
// (kCloseAtOnce) or never answers (kHoldSilent). SO_REUSEADDR, so that the
// real server can take the same port the moment this one is closed.
class FixedPortListener {
 public:
  enum class Mode { kCloseAtOnce, kHoldSilent };

  FixedPortListener(uint16_t port, Mode mode) : mode_(mode) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd_, 512) == 0;
    if (ok_) thread_ = std::thread([this] { run(); });
  }
  ~FixedPortListener() { close(); }
  FixedPortListener(const FixedPortListener&) = delete;
  FixedPortListener& operator=(const FixedPortListener&) = delete;

  bool ok() const { return ok_; }
  int accepted() const { return accepted_.load(); }
  // Stops accepting and releases the port (and every held connection).
  void close() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : held_) ::close(fd);
    held_.clear();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++accepted_;
      if (mode_ == Mode::kCloseAtOnce) {
        ::close(c);
      } else {
        held_.push_back(c);
      }
    }
  }

  Mode mode_;
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> held_;  // the listener thread's until close() joined it
  std::thread thread_;
};

// Opens a plain TCP connection to 127.0.0.1:port (a client that arrives and
// may leave before anything is said); -1 on failure.
int tcpConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(ProxyTest, UpstreamRefusedIsUnavailableNamingRefused) {
  uint16_t port = unusedLoopbackPort();
  ASSERT_TRUE(loopbackConnectRefused(port));
  ASSERT_NO_FATAL_FAILURE(startProxy({}, "127.0.0.1:" + std::to_string(port)));
  auto stub = makeStub(channel());
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  EXPECT_NE(lower(st.error_message()).find("refused"), std::string::npos) << statusString(st);
  if (proxy_) EXPECT_TRUE(proxy_->running());
}

TEST_F(ProxyTest, UpstreamRefusedOnEveryCallType) {
  uint16_t port = unusedLoopbackPort();
  ASSERT_NO_FATAL_FAILURE(startProxy({}, "127.0.0.1:" + std::to_string(port)));
  auto stub = makeStub(channel());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(10s)));
    EchoResponse resp;
    auto writer = stub->ClientStream(&ctx, &resp);
    writer->Write(request(10));
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << "client stream: " << statusString(st);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(10s)));
    auto reader = stub->ServerStream(&ctx, request(10));
    EchoResponse resp;
    while (reader->Read(&resp)) {
    }
    grpc::Status st = reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << "server stream: " << statusString(st);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(10s)));
    auto stream = stub->Bidi(&ctx);
    stream->Write(request(10));
    EchoResponse resp;
    while (stream->Read(&resp)) {
    }
    grpc::Status st = stream->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << "bidi: " << statusString(st);
  }
}

TEST_F(ProxyTest, UpstreamDiesMidCallIsUnavailable) {
  // The server runs in its own process so that it can die abruptly.
  std::string error;
  std::vector<std::string> argv = {GRPCSCOPE_ECHO_SERVER, "--listen", "127.0.0.1:0"};
  if (tls()) {
    ASSERT_NO_FATAL_FAILURE(requireCerts());
    argv.insert(argv.end(), {"--tls-cert", suite_certs_->server.cert, "--tls-key", suite_certs_->server.key});
  }
  auto server = ChildProcess::spawn(argv, {}, &error);
  ASSERT_TRUE(server) << error;
  std::string address;
  ASSERT_TRUE(waitFor(
      [&] {
        std::string out = server->stdoutText();
        auto at = out.find("echo server listening on ");
        if (at == std::string::npos) return false;
        auto end = out.find('\n', at);
        if (end == std::string::npos) return false;
        address = out.substr(at + 25, end - at - 25);
        return true;
      },
      scaled(20s)))
      << server->stderrText();
  ASSERT_NO_FATAL_FAILURE(startProxy({}, address));
  auto stub = makeStub(channel());

  grpc::ClientContext ctx;
  ctx.set_deadline(deadlineFromNow(scaled(30s)));
  EchoRequest req = request(10);
  req.set_response_count(100'000);
  req.set_response_size(100);
  req.set_delay_ms(10);
  auto reader = stub->ServerStream(&ctx, req);
  EchoResponse resp;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader->Read(&resp));
  server->signal(SIGKILL);
  ASSERT_NE(server->wait(scaled(10s)), ChildProcess::kTimedOut);
  while (reader->Read(&resp)) {
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  if (proxy_) EXPECT_TRUE(proxy_->running());
}

TEST_F(ProxyTest, UpstreamThatNeverSpeaksTimesOut) {
  SKIP_IF_DIRECT("a direct gRPC client has its own (20 s) handshake timeout");
  LoopbackListener silent(LoopbackListener::Mode::kHoldSilent);
  ASSERT_NO_FATAL_FAILURE(startProxy({"--upstream-connect-timeout", "500ms"}, silent.address()));
  auto stub = makeStub(channel());
  auto start = std::chrono::steady_clock::now();
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(20s));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  std::string msg = lower(st.error_message());
  EXPECT_TRUE(msg.find("timeout") != std::string::npos || msg.find("timed out") != std::string::npos)
      << statusString(st);
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, scaled(8s));
  EXPECT_GE(silent.accepted(), 1);
}

TEST_F(ProxyTest, FailedUpstreamBacksOffInsteadOfStorming) {
  SKIP_IF_DIRECT("backoff is the proxy's");
  // Every attempt is accepted and closed at once: a failure the proxy only
  // sees after connecting, so each attempt is counted here.
  LoopbackListener closing(LoopbackListener::Mode::kCloseAtOnce);
  const auto backoff = std::chrono::milliseconds(2000 + 1000 * slowFactor());
  ASSERT_NO_FATAL_FAILURE(startProxy({"--backoff-initial", std::to_string(backoff.count()) + "ms",
                                      "--backoff-max", "60s", "--backoff-jitter", "0",
                                      "--upstream-connect-timeout", "2s"},
                                     closing.address()));
  // The first connection's attempt fails and starts the backoff.
  {
    auto stub = makeStub(channel());
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
    ASSERT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  }
  auto window_start = std::chrono::steady_clock::now();
  int attempts_before = closing.accepted();
  // 50 more client connections (separate TCP connections) inside the window.
  std::string last_message;
  int unavailable = 0;
  for (int i = 0; i < 50; ++i) {
    auto stub = makeStub(channel());
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE) ++unavailable;
    last_message = st.error_message();
  }
  auto elapsed = std::chrono::steady_clock::now() - window_start;
  int attempts = closing.accepted() - attempts_before;
  std::cout << "50 connections in " << std::chrono::duration<double>(elapsed).count() << " s: " << attempts
            << " upstream attempts; last message: " << last_message << "\n";
  EXPECT_EQ(unavailable, 50);
  if (elapsed < backoff) {
    EXPECT_LE(attempts, 2) << "connections during the backoff window should fail fast without connecting";
  } else {
    ADD_FAILURE() << "the 50 calls took longer than the backoff window; attempts: " << attempts;
  }
  // After the backoff the proxy tries again.
  int seen = closing.accepted();
  EXPECT_TRUE(waitFor(
      [&] {
        auto stub = makeStub(channel());
        EchoResponse resp;
        unaryCall(*stub, request(10), &resp, scaled(10s));
        return closing.accepted() > seen;
      },
      backoff + scaled(10s), 200ms))
      << "no new upstream attempt after the backoff";
}

TEST_F(ProxyTest, UnavailableDuringBackoffNamesCauseAndNextAttempt) {
  SKIP_IF_DIRECT("backoff is the proxy's");
  uint16_t port = unusedLoopbackPort();
  ASSERT_TRUE(loopbackConnectRefused(port));
  ASSERT_NO_FATAL_FAILURE(startProxy({"--backoff-initial", "30s", "--backoff-max", "60s", "--backoff-jitter", "0"},
                                     "127.0.0.1:" + std::to_string(port)));
  {
    auto stub = makeStub(channel());
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
    ASSERT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  }
  // A new connection inside the backoff is not connected upstream; its
  // answer still says why and when the next attempt may happen.
  auto stub = makeStub(channel());
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
  ASSERT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  const std::string msg = lower(st.error_message());
  EXPECT_NE(msg.find("refused"), std::string::npos) << statusString(st);
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << statusString(st);
  auto at = msg.find("next connection attempt in ");
  ASSERT_NE(at, std::string::npos) << statusString(st);
  long ms = std::atol(msg.c_str() + at + 27);
  EXPECT_GT(ms, 20'000) << statusString(st);
  EXPECT_LE(ms, 30'000) << statusString(st);
}

// Issue item 2: an upstream that restarts (its port accepts and closes for a
// moment) while 20 clients keep calling. Every client connection that found
// the server down used to multiply the backoff: 20 concurrent failures took
// it from 100 ms to its 10 s cap, and calls were refused for ~10 s after the
// server was back. Concurrent failures now count as one, so the backoff after
// ~1 s of restart is under a second.
TEST_F(ProxyTest, UpstreamRestartUnderLoadRecoversWithinASecond) {
  SKIP_IF_DIRECT("backoff is the proxy's");
  const uint16_t port = unusedLoopbackPort();
  auto restarting = std::make_unique<FixedPortListener>(port, FixedPortListener::Mode::kCloseAtOnce);
  ASSERT_TRUE(restarting->ok()) << "cannot listen on 127.0.0.1:" << port;
  // gRPC's connection backoff defaults, spelled out: this is the scenario.
  ASSERT_NO_FATAL_FAILURE(startProxy({"--backoff-initial", "100ms", "--backoff-multiplier", "1.6",
                                      "--backoff-jitter", "0.2", "--backoff-max", "10s"},
                                     "127.0.0.1:" + std::to_string(port)));
  using Clock = std::chrono::steady_clock;
  constexpr int kClients = 20;
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, ok_calls{0};
  std::mutex mu;
  Clock::time_point back{};      // the real server listens from here on
  Clock::time_point first_ok{};  // the first call that succeeded after that
  std::string last_failure;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      auto stub = makeStub(channel());  // separate_connection: one TCP connection per client
      while (!stop) {
        EchoResponse resp;
        grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(3s));
        ++calls;
        std::lock_guard<std::mutex> lock(mu);
        if (st.ok()) {
          ++ok_calls;
          if (first_ok == Clock::time_point{}) first_ok = Clock::now();
        } else {
          last_failure = statusString(st);
        }
        // Pacing of the load (20 clients, ~50 calls/s each), not a wait for a condition.
        if (!st.ok()) {
          mu.unlock();
          std::this_thread::sleep_for(20ms);
          mu.lock();
        }
      }
    });
  }
  // The restart: ~1 s during which every upstream attempt is accepted and closed.
  ASSERT_TRUE(waitFor([&] { return restarting->accepted() >= 1 && calls >= kClients; }, scaled(20s), 10ms))
      << "the clients never reached the restarting upstream; calls: " << calls;
  auto restart_began = Clock::now();
  while (Clock::now() - restart_began < 1s) std::this_thread::sleep_for(10ms);
  int attempts_during_restart = restarting->accepted();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(ok_calls.load(), 0) << "a call succeeded against an upstream that closes every connection";
  }
  restarting->close();
  restarting.reset();
  EchoServerOptions server_options;
  server_options.port = port;
  ASSERT_NO_FATAL_FAILURE(startServer(server_options));
  {
    std::lock_guard<std::mutex> lock(mu);
    back = Clock::now();
  }
  bool recovered = waitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return first_ok != Clock::time_point{};
      },
      scaled(20s), 5ms);
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(recovered) << "no call succeeded within " << scaled(20s).count()
                         << " ms of the server being back; last failure: " << last_failure;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(first_ok - back);
  std::cout << kClients << " clients, " << attempts_during_restart
            << " upstream attempts during the 1 s restart; first successful call " << took.count()
            << " ms after the server was back; last failure before: " << last_failure << "\n";
  // After ~1 s of failures gRPC's backoff (100 ms x1.6, +-20 %) is at most
  // ~790 ms, so the first call through comes within about a second (measured
  // 0.5-1.0 s; 10.2 s before concurrent failures counted once). The bound
  // leaves room for reconnects and TLS handshakes on a loaded machine.
  EXPECT_LE(took, std::chrono::milliseconds(1500 + 500 * (slowFactor() - 1)))
      << "calls were refused for " << took.count() << " ms after the upstream was back";
}

// After a failure, only one upstream attempt (the probe) runs at a time. A
// probe whose client leaves before the upstream answered must free the slot,
// or the worker would refuse every connection from then on.
TEST_F(ProxyTest, ProbeAbandonedByItsClientFreesTheSlot) {
  SKIP_IF_DIRECT("backoff is the proxy's");
  const uint16_t port = unusedLoopbackPort();
  ASSERT_TRUE(loopbackConnectRefused(port));
  ASSERT_NO_FATAL_FAILURE(startProxy({"--backoff-initial", "100ms", "--backoff-max", "100ms", "--backoff-jitter",
                                      "0", "--upstream-connect-timeout", "60s"},
                                     "127.0.0.1:" + std::to_string(port)));
  // 1. Refused: one counted failure, 100 ms backoff.
  {
    auto stub = makeStub(channel());
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
    ASSERT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  }
  // 2. The upstream now accepts but never answers: the next client's attempt
  // (the probe) hangs in the HTTP/2 handshake.
  auto silent = std::make_unique<FixedPortListener>(port, FixedPortListener::Mode::kHoldSilent);
  ASSERT_TRUE(silent->ok());
  int prober = -1;
  ASSERT_TRUE(waitFor(
      [&] {
        if (prober >= 0) ::close(prober);
        prober = tcpConnect(proxy_->port());
        return waitFor([&] { return silent->accepted() >= 1; }, 300ms, 10ms);
      },
      scaled(10s), 10ms))
      << "no probe reached the upstream";
  // 3. Meanwhile other clients are answered at once, naming the cause.
  {
    auto stub = makeStub(channel());
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(10s));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
    EXPECT_NE(lower(st.error_message()).find("refused"), std::string::npos) << statusString(st);
    EXPECT_EQ(silent->accepted(), 1) << "a second attempt ran while the probe was in flight";
  }
  // 4. The probe's client leaves; the server comes back.
  ::close(prober);
  silent->close();
  silent.reset();
  EchoServerOptions server_options;
  server_options.port = port;
  ASSERT_NO_FATAL_FAILURE(startServer(server_options));
  std::string last;
  EXPECT_TRUE(waitFor(
      [&] {
        auto stub = makeStub(channel());
        EchoResponse resp;
        grpc::Status st = unaryCall(*stub, request(10), &resp, scaled(5s));
        last = statusString(st);
        return st.ok();
      },
      scaled(5s), 20ms))
      << "calls still refused after the abandoned probe; last: " << last;
}

}  // namespace
}  // namespace grpcscope::testsupport
