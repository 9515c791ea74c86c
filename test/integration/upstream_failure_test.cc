// Upstream failures become gRPC UNAVAILABLE (14) with a grpc-message naming
// the cause: nothing listening (refused), the server dying mid-call, a
// server that accepts TCP but never speaks HTTP/2 (connect timeout). After a
// failure, new connections fail fast during the backoff instead of
// hammering the server (attempts counted on a loopback listener).
#include <algorithm>
#include <cctype>
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

}  // namespace
}  // namespace grpcscope::testsupport
