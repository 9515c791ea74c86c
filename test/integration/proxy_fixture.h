// Shared fixture for the integration tests: an in-process echo server, the
// real grpcscope binary in front of it, and the proxy's log tail printed when
// a test fails.
//
// GRPCSCOPE_TEST_DIRECT=1 runs the same tests against the echo server with no
// proxy in between (target() is then the server): that checks the test logic
// itself against real gRPC. Tests that only make sense with the proxy skip.
//
// GRPCSCOPE_TEST_TLS=1 runs the same tests over TLS on both legs: the echo
// server gets a certificate of the test CA (support/test_certs.h), the proxy
// terminates TLS (--tls-cert/--tls-key) and originates TLS upstream with
// verification against the test CA (--upstream-tls --upstream-ca), and the
// clients the fixture makes (channel(), channelTo(), rawConnect(), the raw
// upstream peer of rawAdoptAsServer()) speak TLS, trusting the test CA for
// the name "localhost". Tests that are about h2c itself skip (SKIP_IF_TLS).
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
#include "support/raw_h2.h"
#include "support/test_certs.h"

namespace grpcscope::testsupport {

inline bool directMode() {
  const char* v = std::getenv("GRPCSCOPE_TEST_DIRECT");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

#define SKIP_IF_DIRECT(why)                                                         \
  do {                                                                              \
    if (::grpcscope::testsupport::directMode()) GTEST_SKIP() << "direct mode: " << why; \
  } while (0)

// GRPCSCOPE_TEST_TLS=1: the suite over TLS on both legs (see the top).
inline bool tlsMode() {
  const char* v = std::getenv("GRPCSCOPE_TEST_TLS");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

#define SKIP_IF_TLS(why)                                                                   \
  do {                                                                                     \
    if (::grpcscope::testsupport::tlsMode()) GTEST_SKIP() << "TLS mode: " << why;          \
  } while (0)

// The test CA and certificates for TLS mode, generated once per test process
// on first use; nullptr (with `error`) when generation failed.
inline const TestCerts* suiteCerts(std::string* error) {
  static std::string generation_error;
  static const TestCerts* certs = []() -> const TestCerts* {
    auto* c = new TestCerts();  // lives as long as the process: the files are used until exit
    if (c->generate(&generation_error)) return c;
    delete c;
    return nullptr;
  }();
  if (certs == nullptr && error != nullptr) *error = generation_error;
  return certs;
}

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

  // Starts the in-process echo server; ASSERTs inside. In TLS mode (and
  // unless `options` brings credentials of its own) with the test server
  // certificate.
  void startServer(const EchoServerOptions& options = {}) {
    EchoServerOptions o = options;
    if (tls() && !o.credentials) {
      ASSERT_NO_FATAL_FAILURE(requireCerts());
      grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      ssl.pem_key_cert_pairs.push_back({suite_certs_->server.keyPem(), suite_certs_->server.certPem()});
      o.credentials = grpc::SslServerCredentials(ssl);
    }
    server_ = std::make_unique<EchoServer>(o);
    ASSERT_TRUE(server_->ok()) << "echo server failed to start";
  }

  // Starts grpcscope in front of `upstream` (default: the echo server). In
  // direct mode nothing starts and target() is the upstream. In TLS mode the
  // proxy terminates TLS and originates TLS upstream (verified against the
  // test CA; the upstream is an IP address, so its certificate's IP SAN is
  // what is checked).
  void startProxy(const std::vector<std::string>& extra_args = {}, std::string upstream = "",
                  const std::vector<std::string>& env = {}) {
    if (upstream.empty()) upstream = server_->address();
    upstream_ = upstream;
    if (directMode()) return;
    proxy_ = std::make_unique<ProxyProcess>();
    ProxyOptions options;
    options.upstream = upstream;
    if (tls()) {
      ASSERT_NO_FATAL_FAILURE(requireCerts());
      options.extra_args = {"--tls-cert",   suite_certs_->server.cert, "--tls-key",     suite_certs_->server.key,
                            "--upstream-tls", "--upstream-ca",   suite_certs_->ca.cert};
    }
    options.extra_args.insert(options.extra_args.end(), extra_args.begin(), extra_args.end());
    options.env = env;
    std::string error;
    ASSERT_TRUE(proxy_->start(options, &error)) << error;
    if (tls()) {
      // TLS mode must not pass vacuously: the proxy says it speaks TLS on both legs.
      ASSERT_NE(proxy_->listeningLine().find("(tls) -> upstream " + upstream + " (tls)"), std::string::npos)
          << proxy_->listeningLine();
    }
  }

  // Where clients connect: the proxy, or the upstream in direct mode.
  std::string target() const { return proxy_ ? proxy_->address() : upstream_; }
  std::string targetHost() const { return target().substr(0, target().rfind(':')); }
  uint16_t targetPort() const {
    return static_cast<uint16_t>(std::stoi(target().substr(target().rfind(':') + 1)));
  }

  std::shared_ptr<grpc::Channel> channel(const ChannelOptions& options = {}) { return channelTo(target(), options); }

  // A channel to any `address` of the test (the proxy or the echo server);
  // over TLS in TLS mode. All TLS channels share one credentials object, so
  // channels with separate_connection = false still share a connection.
  std::shared_ptr<grpc::Channel> channelTo(const std::string& address, const ChannelOptions& options = {}) {
    ChannelOptions o = options;
    if (tls() && !o.credentials) {
      static std::shared_ptr<grpc::ChannelCredentials> credentials = [] {
        grpc::SslCredentialsOptions ssl;
        ssl.pem_root_certs = suiteCerts(nullptr) ? suiteCerts(nullptr)->ca.certPem() : "";
        return grpc::SslCredentials(ssl);
      }();
      o.credentials = credentials;
      o.ssl_target_name_override = "localhost";
    }
    return makeChannel(address, o);
  }

  // Raw HTTP/2 (support/raw_h2.h) to `host:port`, over TLS (ALPN h2, the
  // test CA, name "localhost") in TLS mode.
  bool rawConnect(h2::RawConnection& conn, const std::string& host, uint16_t port, std::string* error) {
    if (!conn.connect(host, port, error, rawClientTls())) return false;
    if (conn.tls() && conn.alpn() != "h2") {
      *error = "TLS to " + host + ":" + std::to_string(port) + " negotiated ALPN '" + conn.alpn() + "', not h2";
      return false;
    }
    return true;
  }
  bool rawConnect(h2::RawConnection& conn, std::string* error) {
    return rawConnect(conn, targetHost(), targetPort(), error);
  }
  // The TLS options of raw clients: nullptr (plaintext) outside TLS mode.
  const h2::TlsClientOptions* rawClientTls() {
    if (!tls() || suiteCerts(nullptr) == nullptr) return nullptr;
    raw_client_tls_.ca_file = suiteCerts(nullptr)->ca.cert;
    raw_client_tls_.server_name = "localhost";
    raw_client_tls_.handshake_timeout = scaled(std::chrono::milliseconds(10000));
    return &raw_client_tls_;
  }
  // A raw HTTP/2 server on an accepted upstream socket (the proxy's upstream
  // connection), over TLS with the test server certificate in TLS mode.
  bool rawAdoptAsServer(h2::RawConnection& conn, int fd, std::string* error) {
    const h2::TlsServerOptions* options = nullptr;
    if (tls() && suiteCerts(nullptr) != nullptr) {
      raw_server_tls_.cert_file = suiteCerts(nullptr)->server.cert;
      raw_server_tls_.key_file = suiteCerts(nullptr)->server.key;
      raw_server_tls_.handshake_timeout = scaled(std::chrono::milliseconds(10000));
      options = &raw_server_tls_;
    }
    return conn.adoptAsServer(fd, options, error);
  }

  // TLS mode is on for this test: GRPCSCOPE_TEST_TLS=1, unless the test set
  // up TLS itself (suite_tls_ = false, e.g. tls_test).
  bool tls() const { return tlsMode() && suite_tls_; }
  // "https" in TLS mode, else "http": the scheme of URLs to target().
  std::string scheme() const { return tls() ? "https" : "http"; }
  // The suite's certificates in TLS mode; ASSERTs that they exist.
  void requireCerts() {
    std::string error;
    suite_certs_ = suiteCerts(&error);
    ASSERT_NE(suite_certs_, nullptr) << "TLS mode: certificate generation failed: " << error;
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
  bool suite_tls_ = true;
  const TestCerts* suite_certs_ = nullptr;  // set by requireCerts()
  h2::TlsClientOptions raw_client_tls_;
  h2::TlsServerOptions raw_server_tls_;
};

}  // namespace grpcscope::testsupport
