// TLS on both legs: termination toward gRPC C++ clients and
// `openssl s_client`, origination toward a gRPC C++ server over TLS, mTLS on
// each leg, upstream certificate verification failures as UNAVAILABLE naming
// the cause, and session resumption on both legs. Certificates are generated
// at test time (support/test_certs.h). These tests set TLS up themselves, so
// they run the same with and without GRPCSCOPE_TEST_TLS.
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <sstream>

#include "admin/admin_client.h"
#include "own_certs_fixture.h"
#include "proxy_fixture.h"
#include "support/test_certs.h"

namespace grpcscope::testsupport {
namespace {

using grpcscope::test::EchoRequest;
using grpcscope::test::EchoResponse;

class TlsTest : public OwnCertsProxyTest {
 protected:
  // gRPC server credentials with `identity`; require_client_cert: mTLS
  // (client certificates must verify against the test CA). The server's
  // trust store holds the test CA only for mTLS or with `trust_ca`: OpenSSL
  // builds the chain it sends from that store, so with it the server sends
  // leaf + test CA, without it the leaf alone.
  static std::shared_ptr<grpc::ServerCredentials> serverCredentials(const CertFiles& identity,
                                                                    bool require_client_cert = false,
                                                                    bool trust_ca = false) {
    grpc::SslServerCredentialsOptions options(require_client_cert
                                                  ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                  : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    if (require_client_cert || trust_ca) options.pem_root_certs = certs().ca.certPem();
    options.pem_key_cert_pairs.push_back({identity.keyPem(), identity.certPem()});
    return grpc::SslServerCredentials(options);
  }

  void startTlsServer(const CertFiles& identity, bool require_client_cert = false, bool trust_ca = false) {
    EchoServerOptions options;
    options.credentials = serverCredentials(identity, require_client_cert, trust_ca);
    ASSERT_NO_FATAL_FAILURE(startServer(options));
  }

  // Proxy flags for TLS termination with the test server certificate.
  static std::vector<std::string> terminationArgs() {
    return {"--tls-cert", certs().server.cert, "--tls-key", certs().server.key};
  }
  // Proxy flags for TLS origination verified against `ca`.
  static std::vector<std::string> originationArgs(const CertFiles& ca) {
    return {"--upstream-tls", "--upstream-ca", ca.cert};
  }
  static std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  // A channel of its own (own TCP connection) speaking TLS to target(),
  // trusting the test CA, verifying the name "localhost"; with a client
  // certificate when `client_cert` is set.
  std::shared_ptr<grpc::Channel> tlsChannel(const CertFiles* client_cert = nullptr) {
    static std::atomic<int> next_id{1};
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = certs().ca.certPem();
    if (client_cert != nullptr) {
      ssl.pem_private_key = client_cert->keyPem();
      ssl.pem_cert_chain = client_cert->certPem();
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("grpcscope.test.tls_channel_id", next_id.fetch_add(1));
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(target(), grpc::SslCredentials(ssl), args);
  }

  // Waits until the proxy log has one line holding all of `needles`.
  bool waitForLog(const std::vector<std::string>& needles, std::chrono::milliseconds timeout = 10s) {
    if (!proxy_) return false;
    return waitFor([&] { return proxy_->logHasLineWith(needles); }, scaled(timeout));
  }

  // One unary call that must fail: its status.
  grpc::Status failingUnary(const std::shared_ptr<grpc::Channel>& ch) {
    auto stub = makeStub(ch);
    EchoResponse resp;
    return unaryCall(*stub, request(16), &resp, scaled(10s));
  }

  // `openssl s_client` against the proxy with `extra` flags; stdin is
  // /dev/null so it closes right after the handshake. Bounded by a timeout.
  RunResult sClient(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {opensslBinary(), "s_client", "-connect", target(), "-servername", "localhost",
                                     "-CAfile", certs().ca.cert};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return runProcess(argv, scaled(15s));
  }

  // One sample of the proxy's /metrics (0 when absent).
  double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    HttpResponse r = httpRequest("http://" + adminAddressFrom(proxy_->listeningLine()) + "/metrics");
    EXPECT_EQ(r.status, 200) << r.error;
    return sampleValue(parseExposition(r.body), name, labels).value_or(0);
  }

};

// 1. gRPC C++ client -TLS-> grpcscope -TLS-> gRPC C++ server: all four call types.
TEST_F(TlsTest, AllCallTypesOverTlsOnBothLegs) {
  ASSERT_NO_FATAL_FAILURE(startTlsServer(certs().server));
  ASSERT_NO_FATAL_FAILURE(startProxy(concat(terminationArgs(), originationArgs(certs().ca))));
  auto ch = tlsChannel();
  auto stub = makeStub(ch);

  {  // unary
    EchoRequest req = request(1000, 7);
    req.set_response_size(100'000);
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, req, &resp, scaled(20s));
    ASSERT_TRUE(st.ok()) << statusString(st);
    ASSERT_EQ(resp.payload().size(), 100'000u);
    EXPECT_EQ(firstPayloadMismatch(resp.payload(), 0), std::string::npos);
    EchoRequest echo = request(5000, 9);
    st = unaryCall(*stub, echo, &resp, scaled(20s));
    ASSERT_TRUE(st.ok()) << statusString(st);
    EXPECT_EQ(resp.payload(), echo.payload());
  }
  {  // client streaming
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(20s)));
    EchoResponse resp;
    auto writer = stub->ClientStream(&ctx, &resp);
    int64_t total = 0;
    for (int i = 0; i < 20; ++i) {
      EchoRequest req = request(1000 * (i + 1), i);
      total += static_cast<int64_t>(req.payload().size());
      ASSERT_TRUE(writer->Write(req)) << "write " << i;
    }
    ASSERT_TRUE(writer->WritesDone());
    grpc::Status st = writer->Finish();
    ASSERT_TRUE(st.ok()) << statusString(st);
    EXPECT_EQ(resp.requests_seen(), 20);
    EXPECT_EQ(resp.request_bytes_seen(), total);
    EXPECT_EQ(resp.payload(), makePayload(1000, 0));
  }
  {  // server streaming
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(20s)));
    EchoRequest req = request(10);
    req.set_response_count(40);
    req.set_response_size(50'000);
    auto reader = stub->ServerStream(&ctx, req);
    EchoResponse resp;
    int n = 0;
    while (reader->Read(&resp)) {
      EXPECT_EQ(resp.sequence(), n);
      ASSERT_EQ(resp.payload().size(), 50'000u);
      EXPECT_EQ(firstPayloadMismatch(resp.payload(), 0), std::string::npos);
      ++n;
    }
    grpc::Status st = reader->Finish();
    ASSERT_TRUE(st.ok()) << statusString(st);
    EXPECT_EQ(n, 40);
  }
  {  // bidi
    grpc::ClientContext ctx;
    ctx.set_deadline(deadlineFromNow(scaled(20s)));
    auto stream = stub->Bidi(&ctx);
    for (int i = 0; i < 20; ++i) {
      EchoRequest req = request(997 * i + 1, i);
      ASSERT_TRUE(stream->Write(req)) << "write " << i;
      EchoResponse resp;
      ASSERT_TRUE(stream->Read(&resp)) << "read " << i;
      EXPECT_EQ(resp.payload(), req.payload());
      EXPECT_EQ(resp.sequence(), i);
      EXPECT_EQ(resp.requests_seen(), i + 1);
    }
    ASSERT_TRUE(stream->WritesDone());
    EchoResponse extra;
    EXPECT_FALSE(stream->Read(&extra));
    grpc::Status st = stream->Finish();
    ASSERT_TRUE(st.ok()) << statusString(st);
  }
  EXPECT_EQ(server_->stats().distinctPeers(), 1u) << "one client connection, one upstream connection";

  if (!proxy_) return;  // direct mode: no proxy log
  EXPECT_TRUE(waitForLog({"downstream TLS handshake", "alpn=h2", "version=TLSv1.3", "resumed=false"}))
      << "no downstream handshake line with alpn=h2";
  EXPECT_TRUE(waitForLog({"upstream TLS handshake", "alpn=h2", "peer=\"/CN=localhost\"", "issuer=\"/CN=test-ca\""}))
      << "no upstream handshake line naming the server certificate";
}

// 2. mTLS toward clients: a CA-signed client certificate is accepted; a
// client without one is refused, and the proxy keeps serving.
TEST_F(TlsTest, DownstreamMutualTls) {
  SKIP_IF_DIRECT("the proxy's --tls-client-ca");
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(concat(terminationArgs(), {"--tls-client-ca", certs().ca.cert})));

  {
    auto ch = tlsChannel(&certs().client);
    auto stub = makeStub(ch);
    EchoRequest req = request(3000, 3);
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, req, &resp, scaled(20s));
    ASSERT_TRUE(st.ok()) << statusString(st);
    EXPECT_EQ(resp.payload(), req.payload());
    EXPECT_TRUE(waitForLog({"downstream TLS handshake", "peer=\"/CN=test-client\"", "issuer=\"/CN=test-ca\""}))
        << "no downstream handshake line naming the client certificate";
  }
  {
    grpc::Status st = failingUnary(tlsChannel());
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
    EXPECT_TRUE(proxy_->running()) << "the proxy died on a client without a certificate";
  }
  {  // still serving clients with certificates
    auto ch = tlsChannel(&certs().client);
    auto stub = makeStub(ch);
    EchoRequest req = request(100, 4);
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, req, &resp, scaled(20s));
    ASSERT_TRUE(st.ok()) << statusString(st);
    EXPECT_EQ(resp.payload(), req.payload());
  }
  EXPECT_EQ(server_->stats().distinctPeers(), 2u) << "only the two clients with certificates reach the server";
}

// 3. mTLS toward the server: with --upstream-cert/--upstream-key the server
// accepts the proxy.
TEST_F(TlsTest, UpstreamMutualTlsWithClientCertificate) {
  SKIP_IF_DIRECT("the proxy's --upstream-cert");
  ASSERT_NO_FATAL_FAILURE(startTlsServer(certs().server, /*require_client_cert=*/true));
  ASSERT_NO_FATAL_FAILURE(startProxy(concat(
      originationArgs(certs().ca), {"--upstream-cert", certs().client.cert, "--upstream-key", certs().client.key})));
  auto stub = makeStub(channel());  // h2c toward the proxy
  EchoRequest req = request(2000, 5);
  EchoResponse resp;
  grpc::Status st = unaryCall(*stub, req, &resp, scaled(20s));
  ASSERT_TRUE(st.ok()) << statusString(st);
  EXPECT_EQ(resp.payload(), req.payload());
  EXPECT_TRUE(waitForLog({"upstream TLS handshake", "alpn=h2", "peer=\"/CN=localhost\""}));
}

// 3b. ... and without a client certificate the client gets UNAVAILABLE
// naming the upstream TLS failure.
TEST_F(TlsTest, UpstreamMutualTlsWithoutClientCertificate) {
  SKIP_IF_DIRECT("the proxy's upstream TLS");
  ASSERT_NO_FATAL_FAILURE(startTlsServer(certs().server, /*require_client_cert=*/true));
  ASSERT_NO_FATAL_FAILURE(startProxy(originationArgs(certs().ca)));
  grpc::Status st = failingUnary(channel());
  ASSERT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  EXPECT_EQ(server_->stats().distinctPeers(), 0u) << "no call may reach the server";
  // Over TLS 1.3 the server rejects the missing certificate only after the
  // proxy's side of the handshake finished (gRPC's server just closes): the
  // proxy names the cause from the CertificateRequest it saw.
  EXPECT_NE(st.error_message().find("requires a client certificate"), std::string::npos) << statusString(st);
  EXPECT_EQ(st.error_message().rfind("upstream TLS", 0), 0u) << statusString(st);
}

// 4. openssl s_client: ALPN h2 negotiated when offered.
TEST_F(TlsTest, SClientNegotiatesAlpnH2) {
  SKIP_IF_DIRECT("the proxy's TLS termination");
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs()));
  RunResult r = sClient({"-alpn", "h2"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ALPN protocol: h2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << r.out;
  EXPECT_TRUE(waitForLog({"downstream TLS handshake", "alpn=h2", "sni=localhost"}));
}

// 4b. No ALPN offered: the handshake succeeds (HTTP/2 by prior knowledge) and
// the proxy records alpn=none.
TEST_F(TlsTest, SClientWithoutAlpnIsRecorded) {
  SKIP_IF_DIRECT("the proxy's TLS termination");
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs()));
  RunResult r = sClient({});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("No ALPN negotiated"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << r.out;
  EXPECT_TRUE(waitForLog({"downstream TLS handshake", "alpn=none"}));
  EXPECT_EQ(metric("grpcscope_tls_handshakes_total",
                   {{"alpn", "none"}, {"hop", "downstream"}, {"resumed", "false"}, {"version", "TLSv1.3"}}),
            1);
}

// 4c. TLS 1.2 only.
TEST_F(TlsTest, SClientTls12) {
  SKIP_IF_DIRECT("the proxy's TLS termination");
  ASSERT_NO_FATAL_FAILURE(startServer());
  ASSERT_NO_FATAL_FAILURE(startProxy(terminationArgs()));
  RunResult r = sClient({"-tls1_2", "-alpn", "h2"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Protocol  : TLSv1.2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ALPN protocol: h2"), std::string::npos) << r.out;
  EXPECT_TRUE(waitForLog({"downstream TLS handshake", "version=TLSv1.2", "alpn=h2"}));
}

// 5. Upstream certificate verification: each failure is UNAVAILABLE with a
// grpc-message naming OpenSSL's verify error and the upstream address.
class TlsVerifyTest : public TlsTest {
 protected:
  void expectVerifyFailure(const CertFiles& server_identity, const CertFiles& trusted_ca,
                           const std::vector<std::string>& extra_args, const std::string& reason) {
    SKIP_IF_DIRECT("the proxy's upstream verification");
    ASSERT_NO_FATAL_FAILURE(startTlsServer(server_identity));
    ASSERT_NO_FATAL_FAILURE(startProxy(concat(originationArgs(trusted_ca), extra_args)));
    grpc::Status st = failingUnary(channel());
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
    const std::string expected = "upstream TLS: certificate verify failed: " + reason + " (" + server_->address() + ")";
    EXPECT_EQ(st.error_message(), expected) << statusString(st);
    EXPECT_EQ(server_->stats().distinctPeers(), 0u) << "no call may reach an unverified server";
  }
};

TEST_F(TlsVerifyTest, UnrelatedCa) {
  expectVerifyFailure(certs().server, certs().other_ca, {}, "unable to get local issuer certificate");
}

TEST_F(TlsVerifyTest, UnrelatedCaWithRootInChain) {
  // The server sends its (untrusted) root too: OpenSSL names that instead.
  SKIP_IF_DIRECT("the proxy's upstream verification");
  ASSERT_NO_FATAL_FAILURE(startTlsServer(certs().server, /*require_client_cert=*/false, /*trust_ca=*/true));
  ASSERT_NO_FATAL_FAILURE(startProxy(originationArgs(certs().other_ca)));
  grpc::Status st = failingUnary(channel());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << statusString(st);
  EXPECT_EQ(st.error_message(), "upstream TLS: certificate verify failed: self-signed certificate in certificate chain (" +
                                    server_->address() + ")")
      << statusString(st);
}

TEST_F(TlsVerifyTest, ExpiredCertificate) {
  expectVerifyFailure(certs().expired, certs().ca, {}, "certificate has expired");
}

TEST_F(TlsVerifyTest, WrongHostName) {
  expectVerifyFailure(certs().wrong_host, certs().ca, {"--upstream-sni", "localhost"}, "hostname mismatch");
}

TEST_F(TlsVerifyTest, WrongIpAddress) {
  // No --upstream-sni and an IP upstream: the certificate's IP SANs are checked.
  expectVerifyFailure(certs().wrong_host, certs().ca, {}, "IP address mismatch");
}

// 6. Upstream session resumption: the second client connection gets a new
// upstream connection that resumes the first one's TLS session.
TEST_F(TlsTest, UpstreamReconnectResumesTheSession) {
  SKIP_IF_DIRECT("the proxy's upstream session cache");
  ASSERT_NO_FATAL_FAILURE(startTlsServer(certs().server));
  ASSERT_NO_FATAL_FAILURE(startProxy(originationArgs(certs().ca)));
  for (int i = 0; i < 2; ++i) {
    auto ch = channel();  // a channel (and TCP connection) of its own
    auto stub = makeStub(ch);
    EchoRequest req = request(500, i);
    EchoResponse resp;
    grpc::Status st = unaryCall(*stub, req, &resp, scaled(20s));
    ASSERT_TRUE(st.ok()) << "connection " << i << ": " << statusString(st);
    EXPECT_EQ(resp.payload(), req.payload());
    if (i == 0) {
      ASSERT_TRUE(waitForLog({"upstream TLS handshake", "resumed=false"})) << "first upstream handshake not logged";
    }
  }
  EXPECT_EQ(server_->stats().distinctPeers(), 2u) << "two client connections, two upstream connections";
  EXPECT_TRUE(waitForLog({"upstream TLS handshake", "resumed=true", "alpn=h2"}))
      << "the second upstream handshake did not resume the session";
  // The resumed share, as /metrics counts it: one full, one resumed.
  for (const char* resumed : {"false", "true"}) {
    EXPECT_EQ(metric("grpcscope_tls_handshakes_total",
                     {{"alpn", "h2"}, {"hop", "upstream"}, {"resumed", resumed}, {"version", "TLSv1.3"}}),
              1)
        << "resumed=" << resumed;
  }
}

// 7. Downstream session resumption (session tickets): a second `openssl
// s_client` with the first one's saved session is "Reused", and the proxy's
// log records the first downstream handshake as full and the second as
// resumed.
class TlsResumptionTest : public TlsTest {
 protected:
  // The proxy's "downstream TLS handshake" log lines, in order.
  std::vector<std::string> downstreamHandshakeLines() const {
    std::vector<std::string> lines;
    std::istringstream in(proxy_->logText());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("downstream TLS handshake") != std::string::npos) lines.push_back(line);
    }
    return lines;
  }

  void expectDownstreamResumption(const std::vector<std::string>& version_flags, const std::string& version) {
    SKIP_IF_DIRECT("the proxy's session tickets");
    ASSERT_NO_FATAL_FAILURE(startServer());
    // s_client -ign_eof reads until the proxy closes the connection, which it
    // does at the handshake timeout since no HTTP/2 preface comes: a TLS 1.3
    // ticket (sent after the handshake) is always read and saved by then.
    ASSERT_NO_FATAL_FAILURE(startProxy(concat(terminationArgs(), {"--handshake-timeout", "1s"})));
    const std::string session = makeTempDir("grpcscope-resumption") + "/session.pem";

    RunResult first = sClient(concat(version_flags, {"-alpn", "h2", "-ign_eof", "-sess_out", session}));
    ASSERT_EQ(first.status, 0) << first.out << first.err;
    EXPECT_NE(first.out.find("New, " + version + ","), std::string::npos) << first.out;
    ASSERT_FALSE(readFile(session).empty()) << "s_client saved no session: " << first.out << first.err;

    RunResult second = sClient(concat(version_flags, {"-alpn", "h2", "-sess_in", session}));
    ASSERT_EQ(second.status, 0) << second.out << second.err;
    EXPECT_NE(second.out.find("Reused, " + version + ","), std::string::npos)
        << "the second s_client did not resume:\n" << second.out;
    EXPECT_NE(second.out.find("ALPN protocol: h2"), std::string::npos) << second.out;

    std::vector<std::string> lines;
    EXPECT_TRUE(waitFor(
        [&] {
          lines = downstreamHandshakeLines();
          return lines.size() >= 2;
        },
        scaled(10s)))
        << "the proxy logged " << lines.size() << " downstream TLS handshakes, want 2";
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("version=" + version + " "), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("resumed=false"), std::string::npos) << "first handshake: " << lines[0];
    EXPECT_NE(lines[1].find("version=" + version + " "), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("alpn=h2"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("resumed=true"), std::string::npos) << "second handshake not logged as resumed: " << lines[1];
    // Full vs resumed, as /metrics counts them.
    for (const char* resumed : {"false", "true"}) {
      EXPECT_EQ(metric("grpcscope_tls_handshakes_total",
                       {{"alpn", "h2"}, {"hop", "downstream"}, {"resumed", resumed}, {"version", version}}),
                1)
          << "resumed=" << resumed;
    }
  }
};

TEST_F(TlsResumptionTest, DownstreamSessionResumedTls13) { expectDownstreamResumption({"-tls1_3"}, "TLSv1.3"); }

TEST_F(TlsResumptionTest, DownstreamSessionResumedTls12) { expectDownstreamResumption({"-tls1_2"}, "TLSv1.2"); }

}  // namespace
}  // namespace grpcscope::testsupport
