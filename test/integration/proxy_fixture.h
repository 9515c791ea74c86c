// Shared fixture for the integration tests: an in-process echo server, the
// real grpcscope binary in front of it, and the proxy's log tail printed when
// a test fails.
//
// GRPCSCOPE_TEST_DIRECT=1 runs the same tests against the echo server with no
// proxy in between (target() is then the server): that checks the test logic
// itself against real gRPC. Tests that only make sense with the proxy skip.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "support/echo_server.h"
#include "support/grpc_client.h"
#include "support/payload.h"
#include "support/process.h"
#include "support/proxy_process.h"

namespace grpcscope::testsupport {

inline bool directMode() {
  const char* v = std::getenv("GRPCSCOPE_TEST_DIRECT");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

#define SKIP_IF_DIRECT(why)                                                         \
  do {                                                                              \
    if (::grpcscope::testsupport::directMode()) GTEST_SKIP() << "direct mode: " << why; \
  } while (0)

// True when the proxy binary under test is built with AddressSanitizer
// (the release tests may run against build-asan/grpcscope).
inline bool proxyIsSanitized() {
  static const bool sanitized = [] {
    std::ifstream in(ProxyProcess::binaryPath(), std::ios::binary);
    const std::string needle = "__asan_init";
    std::string carry;
    std::vector<char> buf(1 << 20);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
      std::string chunk = carry + std::string(buf.data(), static_cast<size_t>(in.gcount()));
      if (chunk.find(needle) != std::string::npos) return true;
      carry = chunk.substr(chunk.size() > needle.size() ? chunk.size() - needle.size() : 0);
    }
    return false;
  }();
  return sanitized;
}

// Sanitizer builds (of the tests or of the proxy) are 2-3x slower: deadlines
// and time bounds scale with this. GRPCSCOPE_TEST_SLOW=N overrides it.
inline int slowFactor() {
  const char* v = std::getenv("GRPCSCOPE_TEST_SLOW");
  if (v != nullptr && *v != '\0') return std::max(1, std::atoi(v));
#if defined(__SANITIZE_ADDRESS__)
  return 3;
#else
  return proxyIsSanitized() ? 3 : 1;
#endif
}

class ProxyTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (proxy_) {
      // Whatever the test checked: the proxy must not have crashed, and a
      // sanitizer build must not have reported anything.
      EXPECT_FALSE(proxy_->exitedUnexpectedly())
          << "grpcscope exited during the test with status " << proxy_->exitStatus().value_or(-1);
      std::string report = proxy_->sanitizerReport();
      EXPECT_TRUE(report.empty()) << "sanitizer report in the grpcscope log: " << report;
    }
    if (HasFailure() && proxy_) {
      std::cerr << "---- grpcscope (" << ProxyProcess::binaryPath() << ") log tail ----\n"
                << proxy_->logTail(80) << "\n---- end of grpcscope log ----\n";
    }
    proxy_.reset();
    server_.reset();
  }

  // Starts the in-process echo server; ASSERTs inside.
  void startServer(const EchoServerOptions& options = {}) {
    server_ = std::make_unique<EchoServer>(options);
    ASSERT_TRUE(server_->ok()) << "echo server failed to start";
  }

  // Starts grpcscope in front of `upstream` (default: the echo server). In
  // direct mode nothing starts and target() is the upstream.
  void startProxy(const std::vector<std::string>& extra_args = {}, std::string upstream = "",
                  const std::vector<std::string>& env = {}) {
    if (upstream.empty()) upstream = server_->address();
    upstream_ = upstream;
    if (directMode()) return;
    proxy_ = std::make_unique<ProxyProcess>();
    ProxyOptions options;
    options.upstream = upstream;
    options.extra_args = extra_args;
    options.env = env;
    std::string error;
    ASSERT_TRUE(proxy_->start(options, &error)) << error;
  }

  // Where clients connect: the proxy, or the upstream in direct mode.
  std::string target() const { return proxy_ ? proxy_->address() : upstream_; }
  std::string targetHost() const { return target().substr(0, target().rfind(':')); }
  uint16_t targetPort() const {
    return static_cast<uint16_t>(std::stoi(target().substr(target().rfind(':') + 1)));
  }

  std::shared_ptr<grpc::Channel> channel(const ChannelOptions& options = {}) {
    return makeChannel(target(), options);
  }

  static grpcscope::test::EchoRequest request(size_t payload_size = 16, uint32_t seed = 1) {
    grpcscope::test::EchoRequest r;
    r.set_payload(makePayload(payload_size, seed));
    return r;
  }

  // Deadline scaled for slow (sanitizer) builds.
  static std::chrono::milliseconds scaled(std::chrono::milliseconds d) { return d * slowFactor(); }

  std::unique_ptr<EchoServer> server_;
  std::unique_ptr<ProxyProcess> proxy_;
  std::string upstream_;
};

}  // namespace grpcscope::testsupport
